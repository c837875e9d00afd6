import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` talks to a real
// RabbitMQ, which spec/support/broker-setup.ts finds or starts for the run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['spec/unit/**/*.spec.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['spec/integration/**/*.spec.ts'],
          globalSetup: ['spec/support/broker-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
