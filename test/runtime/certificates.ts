import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Certificate files made by `openssl` for one test run: a CA, an identity it signed, and one from another CA. */
export interface TestCertificates {
  directory: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Signed by a different CA: a peer presenting it must be refused. */
  strangerCertFile: string;
  strangerKeyFile: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A throwaway PKI: the identity is valid for `localhost`, 127.0.0.1 and the given IPs (the network-namespace hosts)
 * as both server and client, so one certificate serves every process of a test cluster.
 *
 * @example
 * const certificates = makeTestCertificates(['198.18.0.1']);
 * loadClusterSecurity({ tls: { certFile: certificates.certFile, keyFile: certificates.keyFile, caFile: certificates.caFile } });
 */
export function makeTestCertificates(ipAddresses: string[] = []): TestCertificates {
  const directory = mkdtempSync(join(tmpdir(), 'posttrain-certs-'));
  const curve = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const names = ['DNS:localhost', 'IP:127.0.0.1', ...ipAddresses.map((address) => `IP:${address}`)].join(',');
  writeFileSync(join(directory, 'identity.cnf'), `subjectAltName=${names}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  for (const authority of ['ca', 'stranger-ca']) {
    openssl(['req', '-x509', ...curve, '-keyout', `${authority}.key`, '-out', `${authority}.crt`, '-days', '2', '-subj', `/CN=posttrain test ${authority}`], directory);
  }
  for (const [identity, authority] of [['node', 'ca'], ['stranger', 'stranger-ca']] as const) {
    openssl(['req', ...curve, '-keyout', `${identity}.key`, '-out', `${identity}.csr`, '-subj', `/CN=posttrain test ${identity}`], directory);
    openssl(['x509', '-req', '-in', `${identity}.csr`, '-CA', `${authority}.crt`, '-CAkey', `${authority}.key`, '-CAcreateserial', '-out', `${identity}.crt`, '-days', '2', '-extfile', 'identity.cnf'], directory);
  }
  return {
    directory,
    caFile: join(directory, 'ca.crt'),
    certFile: join(directory, 'node.crt'),
    keyFile: join(directory, 'node.key'),
    strangerCertFile: join(directory, 'stranger.crt'),
    strangerKeyFile: join(directory, 'stranger.key'),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
