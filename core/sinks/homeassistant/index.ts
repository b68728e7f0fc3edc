export * from './mapping';
export * from './discovery';
export * from './registry';
export * from './announcer';
