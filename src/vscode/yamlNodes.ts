import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';

export interface NewNode {
  name: string;
  host: string;
  port: number;
  model: string;
  tier: 0 | 1 | 2;
  kind: 'harombe' | 'ollama' | 'openai';
}

/** What Open Cluster Config writes when the workspace has no config yet: every line says why it is there. */
export const configTemplate = `# Harombe cluster for this workspace. It is merged over ~/.harombe/harombe.yaml;
# nodes with the same name are merged, new names are added.
cluster:
  routing:
    prefer_local: true          # lowest latency first when the task allows
    fallback_strategy: graceful # graceful: try adjacent tiers; strict: error if the tier is down
    load_balance: true          # spread across nodes of the same tier
  nodes: []
  # - name: laptop
  #   host: localhost
  #   port: 11434             # 8000 for \`harombe start\`, 11434 for Ollama
  #   kind: ollama            # harombe | ollama | openai
  #   model: qwen2.5:7b
  #   tier: 0                 # 0 fast, 1 balanced, 2 powerful
  #   auth: \${env:LAPTOP_TOKEN} # or Harombe: Set Node Token (kept in VS Code's secret storage)
`;

/**
 * Appends a node to `cluster.nodes` through yaml's Document API, so the user's comments,
 * ordering and anchors survive the edit. Throws if the text is not YAML we can safely edit.
 */
export function addNodeToYaml(text: string, node: NewNode): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`the config has YAML errors; fix them first (${doc.errors[0]?.message ?? ''})`);
  if (nodeIndex(doc, node.name) >= 0) throw new Error(`a node named ${node.name} is already in this file`);
  // An empty or comments-only file has no contents yet; setIn creates the mappings on the way.
  if (isMap(doc.contents) && doc.contents.items.length === 0) doc.contents.flow = false;
  const item = doc.createNode({ name: node.name, host: node.host, port: node.port, kind: node.kind, model: node.model, tier: node.tier });
  const nodes = doc.getIn(['cluster', 'nodes']);
  if (isSeq(nodes)) {
    // `nodes: []` from the template is a flow list; a block list reads better once it has entries.
    if (nodes.items.length === 0) nodes.flow = false;
    nodes.add(item);
  } else {
    const seq = new YAMLSeq();
    seq.add(item);
    doc.setIn(['cluster', 'nodes'], seq);
  }
  return doc.toString();
}

/** Removes the node named `name` from `cluster.nodes`; undefined when this file does not define it. */
export function removeNodeFromYaml(text: string, name: string): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return undefined;
  const index = nodeIndex(doc, name);
  if (index < 0) return undefined;
  doc.deleteIn(['cluster', 'nodes', index]);
  return doc.toString();
}

/** Whether this YAML text defines a node with that name. */
export function definesNode(text: string, name: string): boolean {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && nodeIndex(doc, name) >= 0;
}

function nodeIndex(doc: ReturnType<typeof parseDocument>, name: string): number {
  const nodes = doc.getIn(['cluster', 'nodes']);
  if (!isSeq(nodes)) return -1;
  return nodes.items.findIndex((item) => isMap(item) && item.get('name') === name);
}
