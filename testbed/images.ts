import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TestbedError, dockerEnv, lastLines, run } from './exec.js';
import type { ImageRecipe } from './image-recipes.js';
import { treeFingerprint } from './image-recipes.js';
import { engineRequest } from './docker-engine.js';
import type { TestbedLayout } from './layout.js';
import { OPERATOR_DOCKER_SOCKET, REGISTRY_USER } from './layout.js';
import { REGISTRY_SERVER } from './registry.js';

/** Bump when the way images are assembled changes, so existing images get rebuilt. */
const RECIPE_VERSION = 1;
const INPUTS_LABEL = 'org.stagecraft.testbed.inputs';
const OPERATOR_DOCKER_HOST = `unix://${OPERATOR_DOCKER_SOCKET}`;

interface LocalImage {
  Id: string;
  RepoDigests?: string[] | null;
  Config?: { Labels?: Record<string, string> | null };
}

/** The operator engine's image `name`, or undefined when it has none. */
export async function localImage(name: string): Promise<LocalImage | undefined> {
  const response = await engineRequest(OPERATOR_DOCKER_SOCKET, 'GET', `/images/${name}/json`);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new TestbedError(`operator engine: inspecting ${name} returned ${response.status}: ${response.body.trim()}`);
  return JSON.parse(response.body) as LocalImage;
}

/** Fingerprint of everything an image is made of; file contents stand in by size and mtime. */
export function recipeInputs(recipe: ImageRecipe): string {
  const describe = {
    version: RECIPE_VERSION,
    ref: recipe.ref,
    files: recipe.files.map((file) => {
      const stat = statSync(file.source);
      return { ...file, size: stat.size, mtime: stat.mtimeMs };
    }),
    trees: recipe.trees.map((tree) => ({ ...tree, fingerprint: treeFingerprint(tree.source) })),
    generated: recipe.generated,
    symlinks: recipe.symlinks,
    dirs: recipe.dirs,
    tail: recipe.dockerfileTail,
  };
  return createHash('sha256').update(JSON.stringify(describe)).digest('hex');
}

function assembleContext(recipe: ImageRecipe, contextDir: string): void {
  rmSync(contextDir, { recursive: true, force: true });
  const rootfs = join(contextDir, 'rootfs');
  const inRoot = (target: string): string => join(rootfs, target);
  for (const dir of recipe.dirs) {
    mkdirSync(inRoot(dir.target), { recursive: true });
    chmodSync(inRoot(dir.target), dir.mode);
  }
  const fileTargets = new Set<string>();
  for (const file of recipe.files) {
    mkdirSync(dirname(inRoot(file.target)), { recursive: true });
    copyFileSync(realpathSync(file.source), inRoot(file.target));
    chmodSync(inRoot(file.target), statSync(file.source).mode & 0o7777);
    fileTargets.add(file.target);
  }
  for (const tree of recipe.trees) {
    cpSync(tree.source, inRoot(tree.target), { recursive: true, verbatimSymlinks: true });
  }
  for (const file of recipe.generated) {
    mkdirSync(dirname(inRoot(file.target)), { recursive: true });
    writeFileSync(inRoot(file.target), file.content, { mode: 0o644 });
    fileTargets.add(file.target);
  }
  for (const link of recipe.symlinks) {
    if (fileTargets.has(link.target)) continue;
    mkdirSync(dirname(inRoot(link.target)), { recursive: true });
    symlinkSync(link.pointsTo, inRoot(link.target));
  }
  writeFileSync(join(contextDir, 'Dockerfile'), ['FROM scratch', 'COPY rootfs/ /', ...recipe.dockerfileTail, ''].join('\n'));
}

async function tagIfNeeded(imageId: string, alias: string): Promise<void> {
  const current = await localImage(alias);
  if (current?.Id === imageId) return;
  const separator = alias.lastIndexOf(':');
  const query = new URLSearchParams({ repo: alias.slice(0, separator), tag: alias.slice(separator + 1) });
  const response = await engineRequest(OPERATOR_DOCKER_SOCKET, 'POST', `/images/${imageId}/tag?${query.toString()}`);
  if (response.status !== 201) throw new TestbedError(`tagging ${alias} failed (${response.status}): ${response.body.trim()}`);
}

/** The digest the registry serves for a tag, or undefined when it does not have it. */
export async function registryDigest(ref: string, password: string): Promise<string | undefined> {
  const path = ref.slice(REGISTRY_SERVER.length + 1);
  const separator = path.lastIndexOf(':');
  const url = `http://${REGISTRY_SERVER}/v2/${path.slice(0, separator)}/manifests/${path.slice(separator + 1)}`;
  const response = await fetch(url, {
    method: 'HEAD',
    headers: {
      Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      Authorization: `Basic ${Buffer.from(`${REGISTRY_USER}:${password}`).toString('base64')}`,
    },
    signal: AbortSignal.timeout(5_000),
  });
  return response.status === 200 ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
}

export interface ImageOutcome {
  ref: string;
  built: boolean;
  pushed: boolean;
}

/**
 * Builds each image on the operator engine unless an image with the same inputs exists, and
 * pushes it unless the registry already serves that exact digest. The registry login lives
 * in a throw-away DOCKER_CONFIG, never in ~/.docker.
 */
export async function ensureImages(layout: TestbedLayout, recipes: readonly ImageRecipe[], registryPassword: string): Promise<ImageOutcome[]> {
  mkdirSync(layout.imagesDir, { recursive: true });
  const dockerConfig = mkdtempSync(join(layout.imagesDir, 'docker-config-'));
  const env = dockerEnv(OPERATOR_DOCKER_HOST, dockerConfig);
  let loggedIn = false;
  try {
    const outcomes: ImageOutcome[] = [];
    for (const recipe of recipes) {
      const inputs = recipeInputs(recipe);
      let image = await localImage(recipe.ref);
      const built = image?.Config?.Labels?.[INPUTS_LABEL] !== inputs;
      if (built) {
        const contextDir = join(layout.imagesDir, recipe.key);
        assembleContext(recipe, contextDir);
        const result = await run('docker', ['build', '--quiet', '--label', `${INPUTS_LABEL}=${inputs}`, '--tag', recipe.ref, contextDir], { env, allowFailure: true });
        rmSync(contextDir, { recursive: true, force: true });
        if (result.exitCode !== 0) throw new TestbedError(`building ${recipe.ref} failed:\n${lastLines(result.stderr || result.stdout, 10)}`);
        image = await localImage(recipe.ref);
      }
      if (!image) throw new TestbedError(`${recipe.ref} missing on the operator engine after the build`);
      for (const alias of recipe.aliases) await tagIfNeeded(image.Id, alias);
      const served = await registryDigest(recipe.ref, registryPassword);
      const repository = recipe.ref.slice(0, recipe.ref.lastIndexOf(':'));
      const pushed = served === undefined || !(image.RepoDigests ?? []).includes(`${repository}@${served}`);
      if (pushed) {
        if (!loggedIn) {
          await run('docker', ['login', REGISTRY_SERVER, '--username', REGISTRY_USER, '--password-stdin'], { env, input: registryPassword });
          loggedIn = true;
        }
        const result = await run('docker', ['push', recipe.ref], { env, allowFailure: true });
        if (result.exitCode !== 0) throw new TestbedError(`pushing ${recipe.ref} failed:\n${lastLines(result.stderr || result.stdout, 10)}`);
      }
      outcomes.push({ ref: recipe.ref, built, pushed });
    }
    return outcomes;
  } finally {
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}
