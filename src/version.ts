// The version printed by --version; kept in step with package.json by the release step.
export const VERSION = '0.1.0';
