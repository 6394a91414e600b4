// The command tree: docker's top-level commands and its management commands (container, image,
// volume, network, system) over the same implementations.
import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { attachCommand, createCommand, runCommand, startCommand } from './run.js';
import {
  commitCommand, diffCommand, exportCommand, killCommand, logsCommand, pauseCommand, portCommand, renameCommand, restartCommand,
  rmCommand, stopCommand, topCommand, unpauseCommand, waitCommand,
} from './containers.js';
import { cpCommand } from './cp.js';
import { execCommand } from './exec.js';
import {
  historyCommand, imagePruneCommand, imagesCommand, importCommand, loadCommand, pullCommand, pushCommand, rmiCommand, saveCommand, tagCommand,
} from './images.js';
import { inspectCommand, kindInspectCommand } from './inspect.js';
import { loginCommand, logoutCommand } from './login.js';
import { networkCommand } from './network.js';
import { psCommand } from './ps.js';
import { statsCommand } from './stats.js';
import { containerPruneCommand, dfCommand, eventsCommand, infoCommand, systemPruneCommand, versionCommand } from './system.js';
import { updateCommand } from './update.js';
import { volumeCommand } from './volume.js';

const as = (cmd: Command, name: string, aliases: string[] = []): Command => ({ ...cmd, name, aliases });

const containerGroup: Command = {
  name: 'container',
  summary: 'Manage containers',
  subcommands: [
    attachCommand, buildCommand, commitCommand, cpCommand, createCommand, diffCommand, execCommand, exportCommand, kindInspectCommand('container'),
    killCommand, logsCommand, as(psCommand, 'ls', ['ps', 'list']), pauseCommand, portCommand, containerPruneCommand, renameCommand,
    restartCommand, as(rmCommand, 'rm', ['remove']), runCommand, startCommand, statsCommand, stopCommand, topCommand, unpauseCommand,
    updateCommand, waitCommand,
  ],
};

const imageGroup: Command = {
  name: 'image',
  summary: 'Manage images',
  subcommands: [
    buildCommand, historyCommand, importCommand, kindInspectCommand('image'), loadCommand, as(imagesCommand, 'ls', ['list']), imagePruneCommand,
    pullCommand, pushCommand, as(rmiCommand, 'rm', ['remove', 'rmi']), saveCommand, tagCommand,
  ],
};

const systemGroup: Command = {
  name: 'system',
  summary: 'Manage berth',
  subcommands: [dfCommand, eventsCommand, infoCommand, systemPruneCommand],
};

export const commands: Command[] = [
  // management commands
  containerGroup, imageGroup, networkCommand, systemGroup, volumeCommand,
  // commands
  attachCommand, buildCommand, commitCommand, cpCommand, createCommand, diffCommand, eventsCommand, execCommand, exportCommand, historyCommand,
  imagesCommand, importCommand, infoCommand, inspectCommand, killCommand, loadCommand, loginCommand, logoutCommand, logsCommand,
  pauseCommand, portCommand, psCommand, pullCommand, pushCommand, renameCommand, restartCommand, rmCommand, rmiCommand, runCommand,
  saveCommand, startCommand, statsCommand, stopCommand, tagCommand, topCommand, unpauseCommand, updateCommand, versionCommand, waitCommand,
];
