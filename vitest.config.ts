import { defineConfig } from "vitest/config"

/** The core suites: the local runtime, run a second time on the plain path (see src/internal/effectInternals.ts). */
const core = [
  "test/Actor.test.ts",
  "test/ActorSystem.test.ts",
  "test/Behavior.test.ts",
  "test/EventStream.test.ts",
  "test/Handoff.test.ts",
  "test/Messaging.test.ts",
  "test/Ordering.property.test.ts",
  "test/Passivation.test.ts",
  "test/Pid.test.ts",
  "test/Restart.test.ts",
  "test/Stash.test.ts",
  "test/Stopping.test.ts",
  "test/Supervisor.test.ts",
  "test/TestKit.test.ts",
  "test/internal/**/*.test.ts"
]

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: "default", include: ["test/**/*.test.ts"], exclude: ["test/integration/**", "node_modules/**"] }
      },
      {
        extends: true,
        test: { name: "plain", include: core, env: { EFFECT_ACTORS_PLAIN_PATH: "1" } }
      }
    ]
  }
})
