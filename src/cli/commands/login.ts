// login and logout: the daemon checks the credentials (POST /auth), the CLI keeps them in the
// docker config file (or its credential helper), where pull and push find them.
import { DOCKER_HUB_KEY, eraseCredentials, readDockerConfig, storeCredentials } from '../../client/docker-config.js';
import { BerthError } from '../../common/errors.js';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { readLine } from './prompt.js';
import { readAll } from './util.js';

/** The registry a server argument names: "docker.io" for Docker Hub, else its host[:port]. */
function registryOf(server: string | undefined): { registry: string; address: string } {
  if (!server) return { registry: 'docker.io', address: DOCKER_HUB_KEY };
  const host = server.replace(/^https?:\/\//, '').split('/')[0]!;
  if (['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host)) return { registry: 'docker.io', address: DOCKER_HUB_KEY };
  return { registry: host, address: host };
}

export const loginCommand: Command = {
  name: 'login',
  usage: '[OPTIONS] [SERVER]',
  summary: 'Authenticate to a registry',
  flags: [
    { name: 'password', short: 'p', type: 'string', help: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', type: 'bool', help: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', type: 'string', help: 'Username' },
  ],
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const { registry, address } = registryOf(args[0]);
    let username = f.str('username');
    let password = f.str('password');
    if (f.bool('password-stdin')) {
      if (password) throw new UsageError('--password and --password-stdin are mutually exclusive');
      if (!username) throw new UsageError('Must provide --username with --password-stdin');
      password = (await readAll(ctx.stdin)).toString('utf8').replace(/\r?\n$/, '');
    } else if (password) {
      ctx.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    }
    if (!username) {
      username = ((await readLine(ctx, { prompt: 'Username: ' })) ?? '').trim();
      if (!username) throw new BerthError('INVALID_ARGUMENT', 'Error: Non-null Username Required');
    }
    if (!password) {
      password = (await readLine(ctx, { silent: true, prompt: 'Password: ' })) ?? '';
      if (!password) throw new BerthError('INVALID_ARGUMENT', 'Error: Password Required');
    }
    const api = await ctx.api();
    const res = await api.auth({ username, password, serveraddress: address });
    await storeCredentials(registry, res.IdentityToken ? { username, password: '', identityToken: res.IdentityToken } : { username, password }, ctx.configPath);
    const config = await readDockerConfig(ctx.configPath);
    if (!config.credsStore && !config.credHelpers?.[address]) {
      ctx.stderr.write(`WARNING! Your credentials are stored unencrypted in '${ctx.configPath}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
    }
    ctx.stdout.write(`${res.Status || 'Login Succeeded'}\n`);
  },
};

export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  summary: 'Log out from a registry',
  maxArgs: 1,
  run: async (ctx, _f, args) => {
    const { registry, address } = registryOf(args[0]);
    const config = await readDockerConfig(ctx.configPath);
    const known = Object.keys(config.auths ?? {}).some((k) => registryOf(k).registry === registry) || !!config.credsStore || !!config.credHelpers;
    if (!known) {
      ctx.stdout.write(`Not logged in to ${address}\n`);
      return;
    }
    ctx.stdout.write(`Removing login credentials for ${address}\n`);
    await eraseCredentials(registry, ctx.configPath);
  },
};
