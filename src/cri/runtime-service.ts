// runtime.v1.RuntimeService: the CRI's calls mapped onto the sandbox and container services, in
// the messages and states containerd's CRI answers with.
import { status as grpcStatus } from '@grpc/grpc-js';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { GrpcError } from '../common/grpc/errors.js';
import type { Message } from '../common/grpc/service-def.js';
import { CriContext } from './context.js';
import type { ContainerService, ContainerView } from './containers.js';
import { unaryHandlers } from './handlers.js';
import type { SandboxService } from './sandboxes.js';
import { criResources } from './spec/resources.js';
import type { StatsReader } from './stats.js';
import type { ContainerCriRecord, SandboxRecord } from './store.js';
import type { StreamingUrls } from './streaming-urls.js';

export const RUNTIME_NAME = 'berth';
export const RUNTIME_API_VERSION = 'v1';
const KUBE_API_VERSION = '0.1.0';

const labelsMatch = (labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

export interface RuntimeServiceDeps {
  ctx: CriContext;
  sandboxes: SandboxService;
  containers: ContainerService;
  stats: StatsReader;
  streaming: StreamingUrls;
  version: string;
}

export function runtimeService(d: RuntimeServiceDeps): UntypedServiceImplementation {
  const { ctx, sandboxes, containers, stats } = d;

  const sandboxStatus = async (rec: SandboxRecord): Promise<Message> => ({
    id: rec.id,
    metadata: rec.config.metadata,
    state: await sandboxes.state(rec),
    created_at: rec.createdAt,
    network: { ip: rec.ip ?? '', additional_ips: (rec.additionalIps ?? []).map((ip) => ({ ip })) },
    linux: { namespaces: { options: rec.config.linux?.security_context?.namespace_options ?? {} } },
    labels: rec.config.labels ?? {},
    annotations: rec.config.annotations ?? {},
    runtime_handler: rec.runtimeHandler,
  });

  const containerImage = (rec: ContainerCriRecord): Message => ({ image: String(rec.config.image?.image ?? ''), annotations: rec.config.image?.annotations ?? {} });

  const containerStatus = (v: ContainerView): Message => {
    const { rec } = v;
    const exited = v.state === 'CONTAINER_EXITED';
    const exitCode = v.exit ? v.exit.status : rec.exitCode ?? 0;
    const reason = !exited ? '' : v.exit ? (v.exit.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error') : rec.reason ?? '';
    const spec = JSON.parse(Buffer.from(ctx.supervisor.containers.find(ctx.ns, rec.id)?.spec?.value ?? 'e30=', 'base64').toString()) as { linux?: { resources?: Record<string, unknown> }; process?: { oomScoreAdj?: number; user?: { uid: number; gid: number; additionalGids?: number[] } } };
    return {
      id: rec.id,
      metadata: rec.config.metadata,
      state: v.state,
      created_at: rec.createdAt,
      started_at: rec.startedAt ?? 0,
      finished_at: exited ? (v.exit ? v.exit.exitedAt.getTime() * 1e6 : rec.finishedAt ?? 0) : 0,
      exit_code: exited ? exitCode : 0,
      image: containerImage(rec),
      image_ref: rec.imageRef,
      image_id: rec.imageId,
      reason,
      message: exited && !v.exit ? rec.message ?? '' : '',
      labels: rec.config.labels ?? {},
      annotations: rec.config.annotations ?? {},
      mounts: rec.config.mounts ?? [],
      log_path: rec.logPath ?? '',
      resources: { linux: criResources(spec.linux?.resources as never, spec.process?.oomScoreAdj) },
      ...(spec.process?.user ? { user: { linux: { uid: spec.process.user.uid, gid: spec.process.user.gid, supplemental_groups: spec.process.user.additionalGids ?? [] } } } : {}),
    };
  };

  const views = async (filter: Message | undefined): Promise<ContainerView[]> => {
    let list = containers.list();
    if (filter?.id) list = list.filter((c) => c.id.startsWith(String(filter.id)));
    if (filter?.pod_sandbox_id) list = list.filter((c) => c.sandboxId.startsWith(String(filter.pod_sandbox_id)));
    list = list.filter((c) => labelsMatch(c.config.labels, filter?.label_selector));
    const out = await Promise.all(list.map((c) => containers.view(c)));
    return filter?.state ? out.filter((v) => v.state === filter.state.state) : out;
  };

  return unaryHandlers(ctx.options.log, 'RuntimeService', {
    Version: () => ({ version: KUBE_API_VERSION, runtime_name: RUNTIME_NAME, runtime_version: d.version, runtime_api_version: RUNTIME_API_VERSION }),

    RunPodSandbox: async (req) => ({ pod_sandbox_id: await sandboxes.run(req.config, String(req.runtime_handler ?? '')) }),
    StopPodSandbox: async (req) => {
      await sandboxes.stop(String(req.pod_sandbox_id));
      return {};
    },
    RemovePodSandbox: async (req) => {
      await sandboxes.remove(String(req.pod_sandbox_id));
      stats.forget(String(req.pod_sandbox_id));
      return {};
    },
    PodSandboxStatus: async (req) => {
      const rec = sandboxes.get(String(req.pod_sandbox_id));
      const status = await sandboxStatus(rec);
      const info = req.verbose ? { info: JSON.stringify({ pid: rec.pid ?? 0, image: rec.image, netNamespacePath: rec.netnsPath ?? '', runtimeHandler: rec.runtimeHandler, config: rec.config }) } : {};
      return { status, info, timestamp: CriContext.now() };
    },
    ListPodSandbox: async (req) => {
      const f = req.filter as Message | undefined;
      let list = sandboxes.list();
      if (f?.id) list = list.filter((s) => s.id.startsWith(String(f.id)));
      list = list.filter((s) => labelsMatch(s.config.labels, f?.label_selector));
      const items = await Promise.all(list.map(async (s) => {
        const st = await sandboxStatus(s);
        return { id: s.id, metadata: s.config.metadata, state: st.state, created_at: s.createdAt, labels: st.labels, annotations: st.annotations, runtime_handler: s.runtimeHandler };
      }));
      return { items: f?.state ? items.filter((i) => i.state === f.state.state) : items };
    },

    CreateContainer: async (req) => ({ container_id: await containers.create(String(req.pod_sandbox_id), req.config) }),
    StartContainer: async (req) => {
      await containers.start(String(req.container_id));
      return {};
    },
    StopContainer: async (req) => {
      await containers.stop(String(req.container_id), Number(req.timeout ?? 0));
      return {};
    },
    RemoveContainer: async (req) => {
      await containers.remove(String(req.container_id));
      stats.forget(String(req.container_id));
      return {};
    },
    ListContainers: async (req) => ({
      containers: (await views(req.filter)).map((v) => ({
        id: v.rec.id, pod_sandbox_id: v.rec.sandboxId, metadata: v.rec.config.metadata, image: containerImage(v.rec), image_ref: v.rec.imageRef, image_id: v.rec.imageId,
        state: v.state, created_at: v.rec.createdAt, labels: v.rec.config.labels ?? {}, annotations: v.rec.config.annotations ?? {},
      })),
    }),
    ContainerStatus: async (req) => {
      const v = await containers.view(containers.get(String(req.container_id)));
      const info = req.verbose ? { info: JSON.stringify({ sandboxID: v.rec.sandboxId, pid: v.pid ?? 0, config: v.rec.config }) } : {};
      return { status: containerStatus(v), info };
    },
    UpdateContainerResources: async (req) => {
      await containers.updateResources(String(req.container_id), req.linux);
      return {};
    },
    ReopenContainerLog: async (req) => {
      await containers.reopenLog(String(req.container_id));
      return {};
    },

    ExecSync: async (req) => {
      const r = await containers.execSync(String(req.container_id), (req.cmd ?? []) as string[], Number(req.timeout ?? 0));
      return { stdout: r.stdout, stderr: r.stderr, exit_code: r.exitCode };
    },
    Exec: async (req) => ({ url: await d.streaming.exec(req) }),
    Attach: async (req) => ({ url: await d.streaming.attach(req) }),
    PortForward: async (req) => ({ url: await d.streaming.portForward(req) }),

    ContainerStats: async (req) => ({ stats: await stats.container(containers.get(String(req.container_id))) }),
    ListContainerStats: async (req) => {
      const f = req.filter as Message | undefined;
      const running = (await views({ id: f?.id, pod_sandbox_id: f?.pod_sandbox_id, label_selector: f?.label_selector })).filter((v) => v.state === 'CONTAINER_RUNNING');
      return { stats: await Promise.all(running.map((v) => stats.container(v.rec))) };
    },
    PodSandboxStats: async (req) => {
      const rec = sandboxes.get(String(req.pod_sandbox_id));
      return { stats: await stats.sandbox(rec, containers.inSandbox(rec.id)) };
    },
    ListPodSandboxStats: async (req) => {
      const f = req.filter as Message | undefined;
      let list = sandboxes.list();
      if (f?.id) list = list.filter((s) => s.id.startsWith(String(f.id)));
      list = list.filter((s) => labelsMatch(s.config.labels, f?.label_selector));
      const ready = [];
      for (const s of list) if ((await sandboxes.state(s)) === 'SANDBOX_READY') ready.push(s);
      return { stats: await Promise.all(ready.map((s) => stats.sandbox(s, containers.inSandbox(s.id)))) };
    },

    UpdateRuntimeConfig: () => ({}),
    Status: async () => {
      const net = await ctx.network.status();
      return {
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            { type: 'NetworkReady', status: net.ready, reason: net.ready ? '' : net.reason ?? 'NetworkPluginNotReady', message: net.ready ? '' : net.message ?? '' },
          ],
        },
        info: {},
      };
    },
    RuntimeConfig: () => ({ linux: { cgroup_driver: 'CGROUPFS' } }),
    CheckpointContainer: () => {
      throw new GrpcError(grpcStatus.UNIMPLEMENTED, 'checkpointing containers is not supported by berth');
    },
    ListMetricDescriptors: () => ({ descriptors: [] }),
    ListPodSandboxMetrics: () => ({ pod_metrics: [] }),
  });
}
