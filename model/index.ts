/** @vigil/model: the shared language of Vigil. Imports nothing of ours. */
export * from './ids.ts';
export * from './roles.ts';
export * from './topics.ts';
export * from './codec.ts';
export * from './messages.ts';
export * from './alarm.ts';
export * from './ticket.ts';
export * from './site-schema.ts';
export * from './site.ts';
export * from './detectors.ts';
export * from './shift.ts';
export * from './bus.ts';
export * from './yaml-file.ts';
