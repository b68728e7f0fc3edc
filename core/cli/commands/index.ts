import type { Command } from '../command';
import { simCommand } from './sim';
import { tmpoCommands } from './tmpo';
import { p1DecodeCommand, p1SniffCommand } from './p1';
import { boardEmulateCommand, boardSniffCommand } from './board';
import { serverCommands } from './server';

/** Every command of `flm`; a new one is added here. */
export const COMMANDS: Command[] = [
  simCommand,
  ...tmpoCommands,
  p1DecodeCommand,
  p1SniffCommand,
  boardSniffCommand,
  boardEmulateCommand,
  ...serverCommands,
];
