import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real control plane for tests, the way controller-runtime's envtest does it: etcd and
 * kube-apiserver on loopback with random ports, an admin token, RBAC on, and a kubeconfig for
 * kubectl, helm and @kubernetes/client-node; plus kube-controller-manager running only the
 * garbage collector, so deleting an owner really deletes its children. Nothing creates pods
 * (no StatefulSet controller, no kubelet): tests set StatefulSet status themselves.
 */
export interface ControlPlane {
  kubeconfig: string;
  server: string;
  dir: string;
  tools: string;
  kubectl(args: string[], input?: string): string;
  helm(args: string[]): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The tools directory that scripts/kube-tools/install.sh prints (installing on the first run). */
export function kubeTools(): string {
  const out = execFileSync('bash', ['scripts/kube-tools/install.sh'], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  return out.split('\n').at(-1)!;
}

/** GET /readyz over TLS with the admin token (the serving certificate is self-signed). */
function readyz(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(`${server}/readyz`, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function waitReady(server: string, token: string, procs: ChildProcess[], logs: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (procs.some((p) => p.exitCode !== null)) throw new Error(`control plane exited:\n${logs()}`);
    if (await readyz(server, token)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after 90 s:\n${logs()}`);
}

export async function startControlPlane(): Promise<ControlPlane> {
  const tools = kubeTools();
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-envtest-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(16).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  let output = '';
  const keep = (p: ChildProcess) => {
    p.stdout?.on('data', (c) => (output = (output + c).slice(-20_000)));
    p.stderr?.on('data', (c) => (output = (output + c).slice(-20_000)));
    return p;
  };
  const etcd = keep(spawn('etcd', [
    '--name', 'envtest', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `envtest=http://127.0.0.1:${peerPort}`, '--log-level', 'warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const apiserver = keep(spawn(join(tools, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, `--cert-dir=${join(dir, 'certs')}`,
    '--service-cluster-ip-range=10.96.0.0/24',
    '--service-account-issuer=https://switchyard.envtest', `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`, '--authorization-mode=RBAC',
    // No controller manager creates the default ServiceAccount, so that admission check is off.
    '--disable-admission-plugins=ServiceAccount',
    // Debian's etcd 3.4.23 predates the progress-notify fix that consistent reads from cache rely on.
    '--feature-gates=ConsistentListFromCache=false',
    '--allow-privileged=false', '--v=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const server = `https://127.0.0.1:${apiPort}`;
  const procs = [apiserver, etcd];
  const stop = async () => {
    for (const p of procs) {
      if (p.exitCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(server, token, procs, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'envtest',
    clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority': join(dir, 'certs', 'apiserver.crt') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user: 'admin', namespace: 'default' } }],
  }));
  const controllers = keep(spawn(join(tools, 'kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`, '--controllers=garbagecollector', '--leader-elect=false', '--secure-port=0', '--v=0',
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  procs.unshift(controllers);
  const run = (bin: string) => (args: string[], input?: string) =>
    execFileSync(bin, args, { input, env: { ...process.env, KUBECONFIG: kubeconfig, HELM_CACHE_HOME: join(dir, 'helm') }, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  return { kubeconfig, server, dir, tools, kubectl: run('kubectl'), helm: run(join(tools, 'helm')), stop };
}
