import * as vscode from 'vscode';
import type { NodeTestResult } from '../core/nodes/testNodes';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import { configFileEditor } from './configFileEditor';
import type { CoordinatorHost } from './coordinatorHost';
import { metricsUri, type MetricsDocumentProvider } from './metricsDocument';
import { nodePresentation, tierNames } from './nodePresentation';
import type { NodesTreeElement } from './nodesTree';
import type { NodeTokens } from './nodeTokens';
import { addNodeToYaml, definesNode, removeNodeFromYaml, type NewNode } from './yamlNodes';

export interface ClusterCommandDeps {
  host: CoordinatorHost;
  log: vscode.LogOutputChannel;
  tokens: NodeTokens;
  metrics: MetricsDocumentProvider;
}

/** A command's node argument: the tree's element, a name (tests, links), or nothing (ask). */
type NodeArg = NodesTreeElement | string | undefined;

/** The cluster commands of the palette, the status bar menu and the Nodes view's context menu. */
export function registerClusterCommands(deps: ClusterCommandDeps): vscode.Disposable[] {
  const { host, log, tokens, metrics } = deps;
  const coordinator = host.coordinator;

  const pickNode = async (arg: NodeArg, placeHolder: string, filter: (n: NodeInfo) => boolean = () => true): Promise<NodeInfo | undefined> => {
    const name = typeof arg === 'string' ? arg : arg?.type === 'node' ? arg.name : undefined;
    if (name) {
      const node = coordinator.registry.get(name);
      if (!node) void vscode.window.showWarningMessage(`Harombe has no node named ${name}.`);
      return node;
    }
    const nodes = coordinator.nodes().filter(filter);
    if (nodes.length === 0) {
      void vscode.window.showInformationMessage('Harombe: no node to choose from.', 'Add Node').then((c) => c && vscode.commands.executeCommand('harombe.addNode'));
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      nodes.map((n) => ({ label: `${nodePresentation.codicon(n)} ${n.name}`, description: `tier ${n.tier} · ${nodePresentation.description(n)}`, node: n })),
      { placeHolder },
    );
    return picked?.node;
  };

  const testCluster = async (): Promise<NodeTestResult[]> => {
    if (coordinator.nodes().length === 0) {
      const choice = await vscode.window.showInformationMessage('Harombe: no nodes are configured yet.', 'Add Node', 'Open Config');
      if (choice === 'Add Node') await vscode.commands.executeCommand('harombe.addNode');
      if (choice === 'Open Config') await vscode.commands.executeCommand('harombe.openConfig');
      return [];
    }
    const results = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Harombe: testing the cluster…' },
      () => host.testNodes(),
    );
    log.info(`cluster test: ${results.filter((r) => r.ok).length}/${results.length} nodes answered`);
    for (const r of results) log.info(`  ${r.ok ? '✅' : '❌'} ${r.node} ${Math.round(r.latencyMs)} ms — ${r.detail}`);
    const ok = results.filter((r) => r.ok).length;
    const summary = `Harombe: ${ok}/${results.length} nodes answered${results.some((r) => !r.ok) ? ` (failed: ${results.filter((r) => !r.ok).map((r) => r.node).join(', ')})` : ''}.`;
    const show = ok === results.length ? vscode.window.showInformationMessage : ok === 0 ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
    void show(summary, 'Show Details').then((c) => c && log.show(true));
    return results;
  };

  const showClusterStatus = async (): Promise<void> => {
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const nodes = [...coordinator.nodes()].sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name));
    const items: Item[] = [
      { label: 'Nodes', kind: vscode.QuickPickItemKind.Separator },
      ...(nodes.length === 0
        ? [{ label: '$(info) No nodes configured', description: 'Add one, or open the config' }]
        : nodes.map((n) => ({
            label: `${nodePresentation.codicon(n)} ${n.name}`,
            description: `tier ${n.tier} · ${nodePresentation.status(n)} · ${nodePresentation.description(n)}`,
            detail: n.stateReason && !nodePresentation.isUp(n) ? n.stateReason : undefined,
            run: () => vscode.commands.executeCommand('harombe.nodes.focus'),
          }))),
      { label: 'Actions', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(beaker) Test Cluster', run: () => vscode.commands.executeCommand('harombe.testCluster') },
      { label: '$(list-tree) Show Nodes', run: () => vscode.commands.executeCommand('harombe.nodes.focus') },
      { label: '$(go-to-file) Open Config', run: () => vscode.commands.executeCommand('harombe.openConfig') },
      { label: '$(graph) Show Metrics', run: () => vscode.commands.executeCommand('harombe.showMetrics') },
    ];
    const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Harombe cluster', matchOnDescription: true });
    await picked?.run?.();
  };

  const showMetrics = async (): Promise<vscode.TextDocument> => {
    metrics.refresh();
    const doc = await vscode.workspace.openTextDocument(metricsUri);
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc;
  };

  const openConfig = async (): Promise<string> => {
    const file = host.primaryConfigFile;
    if (configFileEditor.ensure(file)) log.info(`created ${file}`);
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    return file;
  };

  const addNode = async (given?: Partial<NewNode>): Promise<string | undefined> => {
    const node = given?.name && given.host && given.model && given.tier !== undefined ? ({ port: 11434, kind: 'ollama', ...given } as NewNode) : await askNewNode(given);
    if (!node) return undefined;
    const file = host.primaryConfigFile;
    configFileEditor.ensure(file);
    try {
      await configFileEditor.edit(file, (text) => addNodeToYaml(text, node));
    } catch (error) {
      void vscode.window.showErrorMessage(`Cannot add ${node.name}: ${error instanceof Error ? error.message : String(error)}`, 'Open Config').then((c) => c && openConfig());
      return undefined;
    }
    log.info(`node ${node.name} added to ${file}`);
    host.reload();
    void vscode.window.showInformationMessage(`Harombe: added ${node.name} (tier ${node.tier}) to ${vscode.workspace.asRelativePath(file)}.`);
    return file;
  };

  const removeNode = async (arg: NodeArg): Promise<boolean> => {
    const node = await pickNode(arg, 'Node to remove');
    if (!node) return false;
    if (node.source === 'mdns') {
      coordinator.registry.removeDiscovered(node.name);
      return true;
    }
    // The higher-priority file last: a node defined in both is removed where it is most specific.
    for (const file of [...host.loadedFiles].reverse()) {
      if (!definesNode(await configFileEditor.read(file), node.name)) continue;
      if (typeof arg !== 'string') {
        const sure = await vscode.window.showWarningMessage(`Remove ${node.name} from ${vscode.workspace.asRelativePath(file)}?`, { modal: true }, 'Remove');
        if (sure !== 'Remove') return false;
      }
      await configFileEditor.edit(file, (text) => removeNodeFromYaml(text, node.name));
      log.info(`node ${node.name} removed from ${file}`);
      host.reload();
      return true;
    }
    void vscode.window.showWarningMessage(`${node.name} is not defined in a file Harombe can edit (${host.loadedFiles.join(', ') || 'no config file'}).`);
    return false;
  };

  const setNodeToken = async (arg: NodeArg, given?: string): Promise<boolean> => {
    const node = await pickNode(arg, 'Node to set the token of', (n) => n.source === 'config');
    if (!node) return false;
    const token =
      given ??
      (await vscode.window.showInputBox({
        title: `Token for ${node.name}`,
        prompt: 'Kept in VS Code\'s secret storage, never in settings or the config file. Leave empty to remove the stored token.',
        password: true,
        ignoreFocusOut: true,
      }));
    if (token === undefined) return false;
    await tokens.set(node.name, token.trim() || undefined);
    log.info(`token for node ${node.name} ${token.trim() ? 'stored' : 'removed'}`);
    return true;
  };

  const testNode = async (arg: NodeArg): Promise<NodeTestResult | undefined> => {
    const node = await pickNode(arg, 'Node to test');
    if (!node) return undefined;
    const [r] = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Harombe: testing ${node.name}…` }, () => host.testNodes([node.name]));
    if (!r) return undefined;
    log.info(`  ${r.ok ? '✅' : '❌'} ${r.node} ${Math.round(r.latencyMs)} ms — ${r.detail}`);
    const message = `${node.name}: ${r.ok ? `answered in ${Math.round(r.latencyMs)} ms` : `failed — ${r.detail}`}`;
    void (r.ok ? vscode.window.showInformationMessage(message) : vscode.window.showWarningMessage(message, 'Show Logs').then((c) => c && log.show(true)));
    return r;
  };

  const resetBreaker = async (arg: NodeArg): Promise<void> => {
    const node = await pickNode(arg, 'Node whose circuit to reset');
    if (!node) return;
    coordinator.registry.breaker(node.name).reset();
    log.info(`circuit of ${node.name} reset by the user`);
    await coordinator.prober.probe(node.name);
  };

  const trustNode = async (arg: NodeArg): Promise<void> => {
    const node = await pickNode(arg, 'Discovered node to trust', (n) => n.state === 'untrusted');
    if (!node) return;
    const sure =
      typeof arg === 'string'
        ? 'Trust'
        : await vscode.window.showWarningMessage(`Trust ${node.name} at ${node.host}:${node.port}? It will receive your prompts and code.`, { modal: true }, 'Trust');
    // Through discovery the trust is pinned to the node's id and kept; without it, for this session.
    if (sure === 'Trust') {
      try {
        if (coordinator.discovery) coordinator.discovery.trust(node.name);
        else coordinator.registry.trust(node.name);
      } catch (err) {
        void vscode.window.showErrorMessage(`Cannot trust ${node.name}: ${(err as Error).message}`);
      }
    }
  };

  return [
    vscode.commands.registerCommand('harombe.testCluster', testCluster),
    vscode.commands.registerCommand('harombe.showClusterStatus', showClusterStatus),
    vscode.commands.registerCommand('harombe.showMetrics', showMetrics),
    vscode.commands.registerCommand('harombe.openConfig', openConfig),
    vscode.commands.registerCommand('harombe.addNode', addNode),
    vscode.commands.registerCommand('harombe.removeNode', removeNode),
    vscode.commands.registerCommand('harombe.setNodeToken', setNodeToken),
    vscode.commands.registerCommand('harombe.testNode', testNode),
    vscode.commands.registerCommand('harombe.resetBreaker', resetBreaker),
    vscode.commands.registerCommand('harombe.trustNode', trustNode),
  ];
}

async function askNewNode(given: Partial<NewNode> = {}): Promise<NewNode | undefined> {
  const title = 'Harombe: Add Node';
  const kind = given.kind ?? (await vscode.window.showQuickPick(
    [
      { label: 'ollama', description: 'a plain Ollama server (port 11434)' },
      { label: 'harombe', description: 'a `harombe start` worker (port 8000)' },
      { label: 'openai', description: 'any OpenAI-compatible server (llama.cpp, vLLM, LM Studio)' },
    ],
    { title, placeHolder: 'What runs on the node?' },
  ))?.label as NewNode['kind'] | undefined;
  if (!kind) return undefined;
  const name = given.name ?? (await vscode.window.showInputBox({ title, prompt: 'A name for the node', placeHolder: 'gpu-box', validateInput: (v) => (/^[\w.-]+$/.test(v) ? undefined : 'Letters, digits, dot, dash or underscore') }));
  if (!name) return undefined;
  const address = await vscode.window.showInputBox({
    title,
    prompt: 'Host and port',
    value: `localhost:${kind === 'harombe' ? 8000 : kind === 'ollama' ? 11434 : 8080}`,
    validateInput: (v) => (/^[^\s:]+:\d{1,5}$|^\[[^\]]+\]:\d{1,5}$/.test(v.trim()) ? undefined : 'host:port, e.g. 192.168.1.20:11434'),
  });
  if (!address) return undefined;
  const colon = address.trim().lastIndexOf(':');
  const host = address.trim().slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.trim().slice(colon + 1));
  const model = given.model ?? (await vscode.window.showInputBox({ title, prompt: 'Model the node runs', placeHolder: 'qwen2.5:14b', validateInput: (v) => (v.trim() ? undefined : 'A model name') }));
  if (!model) return undefined;
  const tier =
    given.tier ??
    (await vscode.window.showQuickPick(
      ([0, 1, 2] as const).map((t) => ({ label: `Tier ${t}`, description: tierNames[t], tier: t })),
      { title, placeHolder: 'Tier of the node' },
    ))?.tier;
  if (tier === undefined) return undefined;
  return { name, host, port, model: model.trim(), tier, kind };
}
