import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run build` writes dashboard/dist, which the API serves at `/`.
// `npx vite dashboard` serves it live against a running `vigil start` on :8080.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
