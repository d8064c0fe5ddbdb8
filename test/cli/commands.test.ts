// The command line as a newcomer meets it: import --help examples that really parse, shell
// completion, login/logout for runners without docker, the User-Agent, and show-manifests' hint.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { buildProgram, IMPORT_EXAMPLES } from '../../src/cli/main.js';
import { pushImage, startProxy, stopAfterAll, uniqueRepo } from '../harness/index.js';
import { Capture, cleanEnv, cli, expectExit, skopeoRaw } from '../import/helpers.js';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;
const BIN = join(root, 'bin', 'acr-import.js');
const open = inject('openRegistry');
const htpasswd = inject('htpasswdRegistry');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('import --help', () => {
  it('shows several examples, and each one parses into an import with the flags it shows', async () => {
    const help = await cli(['import', '--help']);
    expectExit(help, 0);
    expect(IMPORT_EXAMPLES.length).toBeGreaterThanOrEqual(4);
    for (const [what, command] of IMPORT_EXAMPLES) {
      expect(help.stdout).toContain(what);
      expect(help.stdout).toContain(command);
      const argv = command.slice(command.indexOf('acr-import ') + 'acr-import '.length).split(/\s+/);
      let parsed: Record<string, unknown> | undefined;
      const out = new Capture();
      await buildProgram(async (opts) => void (parsed = opts), { stdout: out, stderr: out }).parseAsync(['node', 'acr-import', ...argv]);
      expect(parsed, `${command}\n${out.text}`).toBeDefined();
      expect(parsed!.name).toBe(argv[argv.indexOf('--name') + 1]);
      expect(parsed!.source).toBe(argv[argv.indexOf('--source') + 1]);
    }
  });
});

describe('shell completion', () => {
  /** What bash completes for the words typed so far (the last one is being completed). */
  async function complete(words: string[]): Promise<string[]> {
    const script = `source <("${process.execPath}" "${BIN}" completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_acr_import; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout } = await run('bash', ['-c', script], { env: cleanEnv() });
    return stdout.split('\n').filter(Boolean);
  }

  it('bash: `acr-import --so` offers --source; each command its own flags; choices after a flag', async () => {
    expect(await complete(['acr-import', '--so'])).toEqual(expect.arrayContaining(['--source', '--source-auth-mode']));
    expect(await complete(['acr-import', 'show-manifests', '--au'])).toEqual(['--auth-mode']);
    expect(await complete(['acr-import', 'login', 'ghcr.io', '--password-'])).toEqual(['--password-stdin']);
    expect(await complete(['acr-import', 'log'])).toEqual(['login', 'logout']);
    expect(await complete(['acr-import', '-n', 'r', '-o', ''])).toEqual(['text', 'json']);
  });

  it('zsh and fish scripts carry the same flags; an unknown shell is a usage error', async () => {
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('--skip-tls-verify');
    const fish = await cli(['completion', 'fish']);
    expect(fish.stdout).toMatch(/complete -c acr-import .* -l source /);
    expect(fish.stdout).toMatch(/__fish_seen_subcommand_from show-manifests' -l auth-mode -x -a 'auto entra docker anonymous'/);
    expectExit(await cli(['completion', 'tcsh']), 2);
  });
});

describe('login and logout (the docker config, for runners without docker)', () => {
  it('login --password-stdin writes auths (0600, other entries kept) that imports, and skopeo, then use; logout removes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acr-import-login-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('a:b').toString('base64') } }, credsStore: '' }));
    const env = cleanEnv({ DOCKER_CONFIG: dir });

    const login = await cli(['login', htpasswd.host, '-u', htpasswd.username, '--password-stdin'], { env, stdin: `${htpasswd.password}\n` });
    expectExit(login, 0);
    expect(login.stderr).toContain(`Stored the login for ${htpasswd.host} in ${file}`);
    expect(login.stderr).not.toContain(htpasswd.password);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Object.keys(config.auths).sort()).toEqual(['ghcr.io', htpasswd.host].sort());
    expect(Buffer.from(config.auths[htpasswd.host]!.auth, 'base64').toString()).toBe(`${htpasswd.username}:${htpasswd.password}`);
    // skopeo reads the same file.
    const src = await pushImage(htpasswd, uniqueRepo('login/src'), 'v1', { kind: 'image' });
    await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--authfile', file, `docker://${htpasswd.host}/${src.repo}:v1`]);

    const dst = uniqueRepo('login/dst');
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${dst}:v1`], { env }), 0);
    expect((await skopeoRaw(`${open.host}/${dst}:v1`)).equals(src.bytes)).toBe(true);

    const logout = await cli(['logout', htpasswd.host], { env });
    expectExit(logout, 0);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { auths: object }).auths)).toEqual(['ghcr.io']);
    expectExit(await cli(['-n', open.host, '--source', `${htpasswd.host}/${src.repo}:v1`, '-t', `${dst}:v2`], { env }), 3);
  });

  it('refuses a login without a password, and warns about a password on the command line', async () => {
    const env = cleanEnv({ DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'acr-import-login-')) });
    const none = await cli(['login', 'ghcr.io', '-u', 'me'], { env });
    expectExit(none, 2);
    expect(none.stderr).toMatch(/--password-stdin/);
    const flag = await cli(['login', 'ghcr.io', '-u', 'me', '-p', 'secret-pw'], { env });
    expectExit(flag, 0);
    expect(flag.stderr).toMatch(/Warning: a password on the command line/);
    expect(flag.stderr).not.toContain('secret-pw');
  });
});

describe('what registries and users see', () => {
  it(`every request says User-Agent: acr-import/<version>`, async () => {
    const source = await stopAfterAll(startProxy({ upstream: open.url }));
    const target = await stopAfterAll(startProxy({ upstream: open.url }));
    const src = await pushImage(open, uniqueRepo('ua/src'), 'v1', { kind: 'image' });
    expectExit(await cli(['-n', target.host, '--source', `${source.host}/${src.repo}:v1`, '-t', `${uniqueRepo('ua/dst')}:v1`]), 0);
    const agents = new Set([...source.requests, ...target.requests].map((q) => q.requestHeaders['user-agent']));
    expect(agents).toEqual(new Set([`acr-import/${version}`]));
  });

  it('show-manifests of a repository that does not exist: exit 4 with a hint', async () => {
    const r = await cli(['show-manifests', open.host, uniqueRepo('missing/Repo')]);
    expectExit(r, 4);
    expect(r.stderr).toMatch(/^Error: /m);
    expect(r.stderr).toMatch(/Check the repository name \(it is case-sensitive\)/);
  });
});
