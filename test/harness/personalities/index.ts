/**
 * Registry personalities: the behaviours of well-known registries, played by a proxy in front of
 * the real Distribution registry (personality.ts), named and documented in profiles.ts.
 */
export { startPersonality } from './personality.js';
export type { Personality } from './personality.js';
export { PROFILES } from './profiles.js';
export type { ProfileName } from './profiles.js';
export type { Profile, Behaviours } from './profile.js';
export type { FrontDoor, FrontDoorOptions } from './front-door.js';
export { HopLog, describeHops } from './hops.js';
export type { Hop, OriginRole } from './hops.js';
export type { Script, Scripted, RequestInfo } from './scripts.js';
export { startRefusingProxy } from './forward-proxy.js';
export type { RunningForwardProxy, ConnectRecord } from './forward-proxy.js';
