// Lint, including the one layering rule of DESIGN.md: only main/index.ts, main/shell/**
// and preload/** may import electron; renderer/** imports no Node module and at most
// `import type` from preload/contract.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export const electronOutsideShell = {
  paths: [{ name: 'electron', message: 'Only main/index.ts, main/shell/** and preload/** may import electron (DESIGN.md layering rule). Put the Electron part behind a port.' }],
  patterns: [{ group: ['electron/*'], message: 'Only main/index.ts, main/shell/** and preload/** may import electron (DESIGN.md layering rule).' }],
};

export const rendererRestrictions = {
  paths: [
    { name: 'electron', message: 'The renderer is sandboxed: talk to window.agent only.' },
    ...nodeBuiltins.map((name) => ({ name, message: 'The renderer is sandboxed: it may not import Node modules.' })),
  ],
  patterns: [
    { group: ['**/main/**', '../main/*'], message: 'The renderer may not import main-process code.' },
    { group: ['**/preload/*', '!**/preload/contract', '!**/preload/contract.js'], message: 'The renderer may only import types from preload/contract.ts.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'renderer/vendor/**', 'renderer/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', electronOutsideShell],
    },
  },
  {
    files: ['main/index.ts', 'main/shell/**/*.ts', 'preload/**/*.ts', 'test/electron/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', rendererRestrictions],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: ['**/preload/contract', '**/preload/contract.js'], allowTypeImports: true, message: 'The renderer may import only types from preload/contract.ts.' }] }],
    },
  },
  {
    // The preview's browser scripts (window.agent over HTTP, the demo panel): browser globals, no imports.
    files: ['preview/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': ['error', rendererRestrictions] },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', 'scripts/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
