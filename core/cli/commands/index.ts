import type { Command } from '../command';
import { simCommand } from './sim';
import { tmpoCommands } from './tmpo';

/** Every command of `flm`; a new one is added here. */
export const COMMANDS: Command[] = [simCommand, ...tmpoCommands];
