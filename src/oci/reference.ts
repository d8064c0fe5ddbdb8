// Image references: the docker/distribution `reference` grammar with docker's normalisation,
// plus the OCI rules for digests. Every malformed reference is refused with a message that
// quotes the input and says what is wrong with it.

import { isIPv4, isIPv6 } from 'node:net';
import { AcrImportError } from '../errors.js';
import { digestProblem as digestRuleProblem } from './digest.js';

export interface ImageReference {
  /** As the user knows it, normalised: 'docker.io', 'ghcr.io', 'localhost:5000', '127.0.0.1:5000', '[::1]:5000'. */
  registry: string;
  /** Where to connect: 'registry-1.docker.io' for docker.io, otherwise the registry. */
  host: string;
  /** 'library/nginx' */
  repository: string;
  /** Set when given, or 'latest' when neither a tag nor a digest was given. */
  tag?: string;
  /** 'sha256:<64 hex>' or 'sha512:<128 hex>' */
  digest?: string;
}

export const DOCKER_HUB_REGISTRY = 'docker.io';
export const DOCKER_HUB_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

export const DEFAULT_TAG = 'latest';
const NAME_TOTAL_LENGTH_MAX = 255;
const TAG_LENGTH_MAX = 128;


const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

// ---------------------------------------------------------------------------------------------
// Public API

/** Parses `[registry/]repository[:tag][@digest]` with docker's normalisation. */
export function parseReference(input: string): ImageReference {
  const fail = (what: string, hint?: string): AcrImportError =>
    new AcrImportError('usage', `invalid image reference ${quote(input)}: ${what}`, { hint });

  const common = commonProblem(input, 'image reference');
  if (common) throw fail(common.what, common.hint);

  let namePart = input;
  let digest: string | undefined;
  const at = input.indexOf('@');
  if (at >= 0) {
    namePart = input.slice(0, at);
    digest = input.slice(at + 1);
    if (digest.includes('@')) throw fail('it contains more than one "@"');
    if (namePart === '') throw fail('the repository name before "@" is missing');
    const problem = digestProblem(digest);
    if (problem) throw fail(problem);
  }

  const { name, tag } = splitTag(namePart);
  if (tag !== undefined) {
    const problem = tagProblem(tag);
    if (problem) throw fail(problem);
  }
  if (name === '') throw fail('the repository name is missing');
  if (name.startsWith('[') && !name.includes('/')) {
    throw fail('the repository is missing after the registry host', 'write it as [::1]:5000/repository:tag');
  }

  let registry = DOCKER_HUB_REGISTRY;
  let remainder = name;
  const slash = name.indexOf('/');
  if (slash > 0) {
    const first = name.slice(0, slash);
    if (looksLikeHost(first)) {
      const problem = hostProblem(first);
      if (problem) throw fail(`the registry host ${quote(first)} ${problem}`);
      registry = normaliseHost(first);
      if (isDockerHub(registry)) registry = DOCKER_HUB_REGISTRY;
      remainder = name.slice(slash + 1);
      if (remainder === '') throw fail(`the repository is missing after the registry host ${quote(first)}`);
    }
  }

  const problem = repositoryProblem(remainder);
  if (problem) throw fail(problem.what, problem.hint);

  let repository = remainder;
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  const fullName = `${registry}/${repository}`;
  if (fullName.length > NAME_TOTAL_LENGTH_MAX) {
    throw fail(`the name ${quote(fullName)} is ${fullName.length} characters long; the maximum is ${NAME_TOTAL_LENGTH_MAX}`);
  }

  const ref: ImageReference = {
    registry,
    host: registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_HOST : registry,
    repository,
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG;
  return ref;
}

/** Parses a target image `repository[:tag]` (no registry host, no digest); the tag defaults to 'latest'. */
export function parseTargetImage(input: string): { repository: string; tag: string } {
  const hint = 'give the target as repository[:tag], e.g. samples/nginx:1.27';
  const fail = (what: string, specificHint?: string): AcrImportError =>
    new AcrImportError('usage', `invalid target image ${quote(input)}: ${what}`, { hint: specificHint ?? hint });

  const common = commonProblem(input, 'target image');
  if (common) throw fail(common.what);
  if (input.includes('@')) {
    throw fail('a target image cannot have a digest ("@…"); it is stored under a tag', hint);
  }

  const { name, tag } = splitTag(input);
  if (tag !== undefined) {
    const problem = tagProblem(tag);
    if (problem) throw fail(problem);
  }
  if (name === '') throw fail('the repository name is missing');

  const slash = name.indexOf('/');
  if (slash > 0 && looksLikeHost(name.slice(0, slash))) {
    const rest = name.slice(slash + 1);
    throw fail(
      `it must not include a registry host (${quote(name.slice(0, slash))}); the target registry is given separately`,
      repositoryProblem(rest) ? undefined : `use ${quote(rest + (tag === undefined ? '' : `:${tag}`))}`,
    );
  }

  const problem = repositoryProblem(name);
  if (problem) throw fail(problem.what, problem.hint);
  return { repository: name, tag: tag ?? DEFAULT_TAG };
}

export function validateRepository(name: string): void {
  const problem = typeof name === 'string' ? repositoryProblem(name) : { what: 'the repository name is not a string' };
  if (problem) throw new AcrImportError('usage', `invalid repository name ${quote(name)}: ${problem.what}`, { hint: problem.hint });
}

export function validateTag(tag: string): void {
  const problem = typeof tag === 'string' ? tagProblem(tag) : 'the tag is not a string';
  if (problem) throw new AcrImportError('usage', `invalid tag ${quote(tag)}: ${problem}`);
}

export function validateDigest(digest: string): void {
  const problem = typeof digest === 'string' ? digestProblem(digest) : 'the digest is not a string';
  if (problem) throw new AcrImportError('usage', `invalid digest ${quote(digest)}: ${problem}`);
}

/** 'docker.io/library/nginx:latest', 'host/repo@sha256:…', 'host/repo:tag@sha256:…' */
export function formatReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** True for localhost, 127.0.0.0/8 and ::1 (bracketed or not), with or without a port. */
export function isLoopbackHost(hostWithOptionalPort: string): boolean {
  let host = hostWithOptionalPort.trim().toLowerCase();
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return false;
    host = host.slice(1, close);
  } else if (host.split(':').length === 2) {
    host = host.slice(0, host.indexOf(':'));
  }
  if (host === 'localhost' || host === 'localhost.') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  if (isIPv6(host)) {
    const groups = expandIPv6(host);
    if (groups === '0000:0000:0000:0000:0000:0000:0000:0001') return true;
    // IPv4-mapped loopback, ::ffff:127.x.y.z
    return groups.startsWith('0000:0000:0000:0000:0000:ffff:7f');
  }
  return false;
}

/** docker.io, index.docker.io, registry-1.docker.io and registry.hub.docker.com (any case). */
export function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_ALIASES.has(registry.trim().toLowerCase());
}

// ---------------------------------------------------------------------------------------------
// Problems: each returns a description of what is wrong, or undefined when all is well.

interface Problem {
  what: string;
  hint?: string;
}

/** Problems any reference-like input can have, before it is split up. */
function commonProblem(input: unknown, what: string): Problem | undefined {
  if (typeof input !== 'string') return { what: `the ${what} is not a string` };
  if (input === '') return { what: `the ${what} is empty` };
  if (input.trim() === '') return { what: `the ${what} is empty (only whitespace)` };
  if (/\s/.test(input)) {
    return { what: 'it contains whitespace', hint: input.trim() !== input ? 'remove the surrounding spaces' : undefined };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(input)) return { what: 'it contains a control character' };
  const scheme = URL_SCHEME.exec(input);
  if (scheme) {
    return {
      what: `remove the URL scheme ${quote(scheme[0])}: an image reference is host/repository[:tag], not a URL`,
      hint: `write it as ${quote(input.slice(scheme[0].length).replace(/\/+$/, ''))}`,
    };
  }
  if (input.includes('%')) {
    return { what: 'it contains "%": percent-encoded characters such as %2F are not allowed; write "/" itself' };
  }
  if (input.includes('\\')) return { what: 'it contains a backslash; path components are separated by "/"' };
  return undefined;
}

function repositoryProblem(name: string): Problem | undefined {
  if (name === '') return { what: 'the repository name is empty' };
  if (name.includes('%')) return { what: 'percent-encoded characters such as %2F are not allowed in repository names' };
  if (name.includes('\\')) return { what: 'the repository name contains a backslash; path components are separated by "/"' };
  if (/\s/.test(name)) return { what: 'the repository name contains whitespace' };
  if (name.startsWith('/')) return { what: 'the repository name must not start with "/"' };
  if (name.endsWith('/')) return { what: 'the repository name must not end with "/"' };
  if (name.includes('//')) return { what: 'the repository name has an empty path component ("//")' };
  if (/[A-Z]/.test(name)) {
    return {
      what: `repository names must be lower case (${quote(name)} contains upper-case letters)`,
      hint: `use ${quote(name.toLowerCase())}`,
    };
  }
  for (const component of name.split('/')) {
    if (component === '.' || component === '..') {
      return { what: `the path component ${quote(component)} is not allowed in repository names` };
    }
    if (component.includes(':')) {
      return { what: 'the repository name contains ":"; a reference has at most one ":tag", after the last "/"' };
    }
    const bad = [...component].find((c) => !/[a-z0-9._-]/.test(c));
    if (bad !== undefined) {
      return {
        what: `the repository name contains an invalid character ${describeChar(bad)} (allowed: a-z, 0-9, ".", "_", "-" and "/" between components)`,
      };
    }
    if (component.includes('..')) {
      return { what: `the path component ${quote(component)} contains ".."; separators may not repeat` };
    }
    if (!/^[a-z0-9]/.test(component) || !/[a-z0-9]$/.test(component)) {
      return { what: `the path component ${quote(component)} must start and end with a lower-case letter or digit` };
    }
    if (!PATH_COMPONENT.test(component)) {
      return {
        what: `the path component ${quote(component)} has an invalid separator: letters and digits may be separated only by ".", "_", "__" or dashes`,
      };
    }
  }
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    return { what: `the repository name is ${name.length} characters long; the maximum is ${NAME_TOTAL_LENGTH_MAX}` };
  }
  return undefined;
}

function tagProblem(tag: string): string | undefined {
  if (tag === '') return 'the tag after ":" is empty';
  if (tag.length > TAG_LENGTH_MAX) return `the tag is ${tag.length} characters long; the maximum is ${TAG_LENGTH_MAX}`;
  if (!/^\w/.test(tag)) return `the tag must start with a letter, a digit or "_", not ${describeChar(tag[0] ?? '')}`;
  const bad = [...tag].find((c) => !/[\w.-]/.test(c));
  if (bad !== undefined) {
    return `the tag contains an invalid character ${describeChar(bad)} (allowed: letters, digits, "_", "." and "-")`;
  }
  if (!TAG.test(tag)) return 'the tag is malformed';
  return undefined;
}

/** The rules shared with descriptors in manifests (registry/digest.ts), worded for a reference after "@". */
function digestProblem(digest: string): string | undefined {
  if (digest === '') return 'the digest after "@" is empty';
  return digestRuleProblem(digest, describeChar);
}

function hostProblem(host: string): string | undefined {
  let name: string;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return 'is missing the closing "]" of its IPv6 address';
    const address = host.slice(1, close);
    if (!isIPv6(address)) return `has an invalid IPv6 address ${quote(address)}`;
    const rest = host.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return `has unexpected text ${quote(rest)} after its IPv6 address`;
      port = rest.slice(1);
    }
    name = '';
  } else {
    const parts = host.split(':');
    if (parts.length > 2) return 'looks like an IPv6 address: put it in brackets, as in [::1]:5000';
    name = parts[0] ?? '';
    port = parts[1];
    if (name === '') return 'has no host name before the port';
    const lower = name.toLowerCase();
    if (/^[0-9.]+$/.test(lower) && lower.split('.').length === 4) {
      if (!isIPv4(lower)) return `has an invalid IPv4 address ${quote(name)}`;
    } else {
      if (lower.length > 253) return 'is longer than 253 characters';
      for (const label of lower.split('.')) {
        if (label === '') return 'has an empty label (".." or a leading or trailing ".")';
        const bad = [...label].find((c) => !/[a-z0-9-]/.test(c));
        if (bad !== undefined) return `contains an invalid character ${describeChar(bad)}`;
        if (label.length > 63) return `has a label longer than 63 characters`;
        if (!HOST_LABEL.test(label)) return `has a label ${quote(label)} that starts or ends with "-"`;
      }
    }
  }
  if (port !== undefined) {
    if (port === '') return 'has an empty port after ":"';
    if (!/^[0-9]+$/.test(port)) return `has a port ${quote(port)} that is not a number`;
    const n = Number(port);
    if (n < 1 || n > 65535) return `has a port ${port} outside 1-65535`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** docker's rule: a first component is a registry host iff it has a "." or ":" or is "localhost". */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component.toLowerCase() === 'localhost';
}

/** Lower-cases the host and drops leading zeros from the port. */
function normaliseHost(host: string): string {
  const lower = host.toLowerCase();
  const m = /^(.*):([0-9]+)$/.exec(lower);
  if (m && (lower.startsWith('[') ? m[1]?.endsWith(']') : !m[1]?.includes(':'))) {
    return `${m[1]}:${Number(m[2])}`;
  }
  return lower;
}

/** Splits off a ':tag' that comes after the last '/'. */
function splitTag(namePart: string): { name: string; tag?: string } {
  const colon = namePart.lastIndexOf(':');
  const slash = namePart.lastIndexOf('/');
  // A colon inside a bracketed IPv6 host with no path is not a tag separator.
  if (colon > slash && !(slash < 0 && namePart.startsWith('[') && colon < namePart.indexOf(']'))) {
    return { name: namePart.slice(0, colon), tag: namePart.slice(colon + 1) };
  }
  return { name: namePart };
}

/** The eight groups of an IPv6 address, each padded to four hex digits, joined by ':'. */
function expandIPv6(address: string): string {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(Math.max(missing, 0)).fill('0'), ...tailGroups]
    .map((g) => g.padStart(4, '0'))
    .join(':');
}

function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function describeChar(c: string): string {
  if (c === '') return 'nothing';
  if (/[\x21-\x7e]/.test(c)) return JSON.stringify(c);
  const code = c.codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${/\p{L}|\p{N}|\p{S}|\p{P}/u.test(c) ? ` (${JSON.stringify(c)})` : ''}`;
}
