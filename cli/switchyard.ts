#!/usr/bin/env node
import { parseArgs } from 'node:util';

const USAGE = `usage:
  switchyard up FILE [--duration SECONDS] [--fail-fast] [--json]
      Runs the custom resource in FILE as local processes on loopback. A member that dies is
      restarted empty, as a kubelet restarts a pod (--fail-fast: it fails the run instead); a
      protocol stalled for max(30 s, the spec's longest timeout) fails the run at once.
  switchyard status NAME [-n NAMESPACE] [--kind KIND] [--watch] [--duration SECONDS] [--json]
      Observes a testbed the operator runs (KUBECONFIG) through the API server's pod proxy and
      gives up's verdict: live line (--watch), summary, linearizability. Window: --duration,
      else 5 s (--watch: until Ctrl-C). Exit 0 ok, 1 failed a check, 3 could not observe.
  switchyard node --config FILE --role ROLE
      Runs one member of a testbed (what each pod runs).
  switchyard operator --image IMAGE [--member-image IMAGE] [--namespaces a,b] [--port 8080] [--pod-monitor] ...
      Runs the Kubernetes operator (in-cluster, or with KUBECONFIG). Members run --member-image
      (default: --image). It reads members' /metrics at pod IPs in-cluster, through the API
      server's pod proxy outside (--member-url URL-TEMPLATE|apiserver), every --observe-every
      seconds (5), and calls a testbed stalled when its progress counter has not moved for
      max(--stall-after (30), the spec's longest timeout) seconds.
  switchyard check HISTORY [--model kv|txn] [--max-steps N] [--json]
      Checks a recorded client history (up writes one beside the logs) for linearizability.
  switchyard bench hydra|hydra-apps|crypto|bft|capybara|model [--json] [--out DIR] [--seconds N] [--rounds N] [--validate]
      Measures (not a test); prints a table, writes DIR/NAME.json and DIR/NAME.md.
      bft and hydra-apps repeat their compared runs N rounds (default 3): ratios per round, median reported.
      model calibrates the simulator's cost model (µs per message type per role, UDP per datagram); N repetitions (5).
      model --validate also runs bft's key-value configurations on loopback (--seconds each, 6) and
      reports the model's error against them (model_validation).
  switchyard bench paper [--quick] [--tiny] [--json] [--out DIR] [--seconds N]
      The papers' figures as SVG and PNG beside the papers' numbers: DIR/index.md, DIR/paper.json
      (DIR: bench-results/paper). --quick: fewer points, seeds and state sizes, 3 s loopback runs.
      --tiny: a smoke run (fewest modelled points, no NeoBFT or HydraPaxos loopback runs).
      --seconds: the length of each Capybara loopback run (default 3 with --quick or --tiny, else 8).`;

function fail(message: string): never {
  process.stderr.write(`switchyard: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

/** `--duration SECONDS`: a positive number, or undefined when absent. */
function durationFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) fail(`--duration must be a positive number of seconds, not "${value}"`);
  return seconds;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: { duration: { type: 'string' }, json: { type: 'boolean', default: false }, 'fail-fast': { type: 'boolean', default: false } },
      });
      if (positionals.length !== 1) fail('up takes exactly one FILE');
      const durationSeconds = durationFlag(values.duration);
      const { up } = await import('../operator/local/runner.js');
      const { exitCode, result } = await up({ file: positionals[0]!, durationSeconds, failFast: values['fail-fast']!, out: values.json ? process.stderr : process.stdout });
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      return exitCode;
    }
    case 'status': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: {
          namespace: { type: 'string', short: 'n' }, kind: { type: 'string' }, watch: { type: 'boolean', default: false },
          duration: { type: 'string' }, json: { type: 'boolean', default: false },
        },
      });
      if (positionals.length !== 1) fail('status takes exactly one NAME (of a SequencerGroup, BFTCluster or MigratingService)');
      const durationSeconds = durationFlag(values.duration);
      const { statusCommand } = await import('../operator/status/command.js');
      return statusCommand({
        name: positionals[0]!, namespace: values.namespace, kind: values.kind, watch: values.watch!, durationSeconds, json: values.json!,
      });
    }
    case 'node': {
      const { values } = parseArgs({
        args: rest, strict: true, options: { config: { type: 'string' }, role: { type: 'string' } },
      });
      if (!values.config) fail('node needs --config FILE');
      if (!values.role) fail('node needs --role ROLE');
      const { nodeMain } = await import('../node/wiring/main.js');
      await nodeMain(values.config, values.role);
      return -1;
    }
    case 'operator': {
      const { values } = parseArgs({
        args: rest, strict: true,
        options: {
          namespaces: { type: 'string' }, 'lease-namespace': { type: 'string' }, 'lease-name': { type: 'string', default: 'switchyard-operator' },
          'lease-duration': { type: 'string', default: '15' }, 'renew-deadline': { type: 'string', default: '10' }, 'retry-period': { type: 'string', default: '2' },
          port: { type: 'string', default: '8080' }, workers: { type: 'string', default: '4' }, resync: { type: 'string', default: '300' },
          image: { type: 'string' }, 'member-image': { type: 'string' }, 'image-pull-policy': { type: 'string', default: 'IfNotPresent' },
          'cluster-domain': { type: 'string', default: 'cluster.local' }, 'pod-monitor': { type: 'boolean', default: false },
          'member-url': { type: 'string' }, 'stall-after': { type: 'string', default: '30' }, 'observe-every': { type: 'string', default: '5' },
          'log-level': { type: 'string', default: 'info' },
        },
      });
      const seconds = (flag: string) => {
        const v = Number(values[flag as keyof typeof values]);
        if (!(v > 0)) fail(`--${flag} must be a positive number of seconds`);
        return v * 1000;
      };
      const int = (flag: string) => {
        const v = Number(values[flag as keyof typeof values]);
        if (!Number.isInteger(v) || v < 0) fail(`--${flag} must be a whole number`);
        return v;
      };
      const image = values.image ?? process.env.SWITCHYARD_IMAGE;
      if (!image) fail('operator needs --image (or SWITCHYARD_IMAGE): the image its testbed pods run');
      if (values['member-image'] === '') fail('--member-image must name an image (leave it out to run members on --image)');
      const memberUrl = values['member-url'];
      if (memberUrl !== undefined && memberUrl !== 'apiserver' && !/^https?:\/\//.test(memberUrl)) fail(`--member-url must be an http(s) URL template or "apiserver", not "${memberUrl}"`);
      const policy = values['image-pull-policy'];
      if (policy !== 'Always' && policy !== 'IfNotPresent' && policy !== 'Never') fail('--image-pull-policy must be Always, IfNotPresent or Never');
      const namespaces = values.namespaces ?? process.env.WATCH_NAMESPACES;
      const { runOperator } = await import('../operator/controller/main.js');
      await runOperator({
        namespaces: namespaces ? namespaces.split(',').map((n) => n.trim()).filter(Boolean) : null,
        leaseNamespace: values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? 'default',
        leaseName: values['lease-name']!,
        leaseDurationMs: seconds('lease-duration'), renewDeadlineMs: seconds('renew-deadline'), retryPeriodMs: seconds('retry-period'),
        httpPort: int('port'), workers: Math.max(1, int('workers')), resyncMs: seconds('resync'),
        render: { image: values['member-image'] ?? image!, imagePullPolicy: policy, clusterDomain: values['cluster-domain']!, podMonitor: values['pod-monitor']! },
        // In a pod, members' IPs are routable; elsewhere only the API server reaches them.
        memberUrl: memberUrl ?? (process.env.KUBERNETES_SERVICE_HOST ? 'http://{ip}:9464' : 'apiserver'),
        stallAfterMs: seconds('stall-after'), observeEveryMs: seconds('observe-every'),
        logLevel: values['log-level']!,
      });
      return -1;
    }
    case 'bench': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: {
          json: { type: 'boolean', default: false }, out: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' },
          quick: { type: 'boolean', default: false }, tiny: { type: 'boolean', default: false }, validate: { type: 'boolean', default: false },
        },
      });
      if ((values.quick || values.tiny) && positionals[0] !== 'paper') fail('--quick and --tiny are flags of bench paper');
      if (values.validate && positionals[0] !== 'model') fail('--validate is a flag of bench model');
      if (positionals[0] === 'paper' && values.rounds !== undefined) fail('bench paper takes --quick, --tiny and --seconds, not --rounds');
      const { bench } = await import('../bench/bench.js');
      const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
      if (seconds !== undefined && !(seconds > 0)) fail(`--seconds must be a positive number, not "${values.seconds}"`);
      const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
      if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) fail(`--rounds must be a positive whole number, not "${values.rounds}"`);
      return bench(positionals, { json: values.json!, out: values.out, seconds, rounds, quick: values.quick!, tiny: values.tiny!, validate: values.validate! });
    }
    case 'check': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: { model: { type: 'string' }, 'max-steps': { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      if (positionals.length !== 1) fail('check takes exactly one HISTORY file');
      const { MODELS } = await import('../node/check/history-file.js');
      if (values.model !== undefined && !(values.model in MODELS)) fail(`--model must be one of ${Object.keys(MODELS).join(', ')}, not "${values.model}"`);
      const maxSteps = values['max-steps'] === undefined ? undefined : Number(values['max-steps']);
      if (maxSteps !== undefined && !(Number.isInteger(maxSteps) && maxSteps > 0)) fail(`--max-steps must be a positive whole number, not "${values['max-steps']}"`);
      const { checkHistoryFile } = await import('../node/check/check-command.js');
      return checkHistoryFile(positionals[0]!, { model: values.model as keyof typeof MODELS | undefined, maxSteps, json: values.json! });
    }
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      fail(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // A node keeps running (code -1) until it is signalled.
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e.code?.startsWith('ERR_PARSE_ARGS')) fail(e.message ?? String(err));
    process.stderr.write(`switchyard: ${e.message ?? String(err)}\n`);
    process.exit(1);
  },
);
