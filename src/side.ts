// The two ends of a copy, as errors, credentials and the json result name them.
export type Side = 'source' | 'target';
