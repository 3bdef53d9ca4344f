import { defineConfig } from "vite";

// The bundle is committed and embedded in the binary, so the build must be
// reproducible: fixed file names (no content hashes to churn diffs) and no
// build-time stamps.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
});
