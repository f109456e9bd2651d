/**
 * Faults the runtime watches for: spot interruption notices. (Warm spares live with the roles they replace, in
 * trainers/spares.ts: the runtime moves bytes and knows nothing about models.)
 */
export { AWS_SPOT_NOTICE_URL, SpotNoticeWatcher, type SpotNotice, type SpotNoticeWatcherOptions } from './spot-notice-watcher.ts';
