/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// The Tauri shell serves ui/dist in release builds and this dev server (port 5173) in dev.
export default defineConfig({
  // svelteTesting resolves Svelte's browser build under Vitest and cleans up after each test.
  plugins: [svelte(), svelteTesting()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK on Debian 12 and later understands ES2022.
    target: 'es2022',
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/test-setup.ts'],
    // A hang guard, not a speed check: on a loaded two-core CI machine a screen test that renders
    // a long list in jsdom can take several seconds.
    testTimeout: 20_000,
  },
});
