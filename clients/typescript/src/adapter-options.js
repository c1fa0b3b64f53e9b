// Types only (adapter-options.d.ts).
export {};
