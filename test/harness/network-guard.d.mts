export declare const GUARD_LOG_ENV: string;
export declare function isLoopback(host: string | undefined): boolean;
export declare const GUARD_HOSTS_ENV: string;
