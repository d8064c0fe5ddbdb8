/**
 * Test PKI made with the openssl CLI (Node can sign but cannot build X.509
 * certificates). Everything lands in a temp dir owned by the caller.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, run } from './util.js';

export interface TestCA {
  /** PEM of the CA certificate: pass it to undici `connect.ca`, NODE_EXTRA_CA_CERTS, skopeo --cert-dir... */
  certPem: string;
  /** File holding {@link certPem}. */
  certPath: string;
  keyPath: string;
  dir: string;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

function openssl(): string {
  const bin = findExecutable('openssl', '/usr/bin/openssl');
  if (!bin) throw new Error('openssl not found: install it with `sudo apt-get install -y openssl`');
  return bin;
}

function serial(): string {
  // Random positive 63-bit serial: distinct serials keep TLS stacks from caching surprises.
  const bytes = randomBytes(8);
  bytes[0] = bytes[0]! & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

function selfSignedConfig(cn: string, ca: boolean): string {
  return [
    '[req]',
    'distinguished_name=dn',
    'prompt=no',
    'x509_extensions=ext',
    '[dn]',
    `CN=${cn}`,
    '[ext]',
    ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=critical,CA:FALSE',
    ca ? 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' : 'keyUsage=critical,digitalSignature',
    'subjectKeyIdentifier=hash',
    '',
  ].join('\n');
}

/** A fresh CA (EC P-256) valid for a few days. */
export async function createTestCA(dir: string, name = 'acr-import harness CA'): Promise<TestCA> {
  const cfg = join(dir, 'ca.cnf');
  writeFileSync(cfg, selfSignedConfig(name, true));
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.pem');
  await run(openssl(), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '7', '-set_serial', serial(), '-config', cfg,
  ]);
  return { certPem: readFileSync(certPath, 'utf8'), certPath, keyPath, dir };
}

/** A server certificate for 127.0.0.1 / localhost (plus extra names) signed by `ca`. */
export async function issueServerCert(ca: TestCA, dir: string, opts: { name?: string; hosts?: string[] } = {}): Promise<IssuedCert> {
  const name = opts.name ?? 'server';
  const hosts = opts.hosts ?? ['127.0.0.1', 'localhost'];
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const certPath = join(dir, `${name}.pem`);
  const extPath = join(dir, `${name}.ext`);
  const cfgPath = join(dir, `${name}.cnf`);
  writeFileSync(cfgPath, ['[req]', 'distinguished_name=dn', 'prompt=no', '[dn]', `CN=${hosts[0] ?? name}`, ''].join('\n'));
  writeFileSync(
    extPath,
    [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await run(openssl(), ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-config', cfgPath]);
  await run(openssl(), [
    'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', serial(),
    '-days', '7', '-out', certPath, '-extfile', extPath,
  ]);
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/**
 * A self-signed RSA certificate used to sign registry tokens (RS256). The same
 * file is the registry's `auth.token.rootcertbundle`, and its DER goes into the
 * JWT `x5c` header: Distribution verifies the x5c chain against the bundle.
 */
export async function createSigningCert(dir: string, cn = 'acr-import harness token issuer'): Promise<IssuedCert> {
  const cfg = join(dir, 'signer.cnf');
  writeFileSync(cfg, selfSignedConfig(cn, true));
  const keyPath = join(dir, 'signer.key');
  const certPath = join(dir, 'signer.pem');
  await run(openssl(), [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath,
    '-days', '7', '-set_serial', serial(), '-config', cfg,
  ]);
  return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}
