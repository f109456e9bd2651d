import { HeadForwardingControl } from './head-forwarding-control.ts';

/**
 * The control plane as a cluster driver sees it: its objects stay in its own store (other nodes fetch them from
 * its object home), everything else is a request to the head, which knows the driver by its link.
 *
 * @example
 * const control = new DriverControl(link, directory, home);
 * await control.nodes();
 */
export class DriverControl extends HeadForwardingControl {
  protected readonly ownName = 'driver';

  protected request<T>(route: string, _caller: string, args: unknown[]): Promise<T> {
    return this.link.request<T>(route, args);
  }
}
