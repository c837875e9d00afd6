import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Four projects: `unit` needs nothing but Node; `package` checks the build in dist/ (run
// `npm run build` first); `integration` talks to a real RabbitMQ, which
// spec/support/broker-setup.ts finds or starts for the run;
// `faults` breaks the network between the two (spec/support/tcp-proxy.ts) and
// the broker itself, and checks that warren recovers and loses nothing.
// lib/testing imports warren by its package name, as a user would (tsconfig.json `paths` says
// the same to TypeScript): here, that is the sources. Every project extends this.
const resolve = {
  alias: [
    { find: /^warren$/, replacement: fileURLToPath(new URL('lib/index.ts', import.meta.url)) },
  ],
};

export default defineConfig({
  resolve,
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['spec/unit/**/*.spec.ts'],
          // A hang detector, as below: the property-based tests (fuzz.spec.ts: 2,000 runs each)
          // take about a second on an idle machine and went past vitest's 5 s default under load.
          testTimeout: 30_000,
        },
      },
      {
        // Not extended: the built package resolves `warren` as Node does, to dist/.
        test: {
          // The built package (dist/), as an application loads it: run after `npm run build`.
          name: 'package',
          include: ['spec/package/**/*.spec.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['spec/faults/**/*.spec.ts'],
          globalSetup: ['spec/support/broker-setup.ts'],
          // Timeouts catch hangs; they assert no speed. They are wide because the suite must
          // pass on a loaded machine, where each rabbitmqctl call and node start is slow.
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['spec/integration/**/*.spec.ts'],
          globalSetup: ['spec/support/broker-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
