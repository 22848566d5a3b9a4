// The demo page: reads /v1/demo/info, runs queries through POST /v1/agent/run and draws each
// event of the server-sent stream as it arrives. Plain module, no build step, no network beyond
// this server. Every text from the model goes in through textContent.

const $ = (id) => document.getElementById(id);
const state = { info: null, running: false };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function ms(value) {
  if (value === undefined || value === null) return "";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

function headers() {
  const h = { "content-type": "application/json" };
  const key = $("api-key").value || sessionStorage.getItem("agenttune-key");
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

function signature(tool) {
  const props = tool.parameters?.properties ?? {};
  const required = new Set(tool.parameters?.required ?? []);
  const args = Object.entries(props).map(([name, schema]) => `${name}${required.has(name) ? "" : "?"}: ${schema?.type ?? "any"}`);
  return `${tool.name}(${args.join(", ")})`;
}

async function loadInfo() {
  const res = await fetch("/v1/demo/info", { headers: headers() });
  if (res.status === 401) {
    $("key-box").hidden = false;
    $("model-chip").textContent = "API key needed";
    return;
  }
  const info = await res.json();
  state.info = info;
  $("model-chip").replaceChildren("model ", el("b", "", info.model));
  if (info.adapter) {
    $("adapter-chip").hidden = false;
    $("adapter-chip").replaceChildren("adapter ", el("b", "", info.adapter));
  }
  if (info.engine) {
    $("engine-chip").hidden = false;
    $("engine-chip").replaceChildren("engine ", el("b", "", info.engine));
  }
  $("report-link").hidden = !info.report;
  $("compare-toggle").hidden = !info.base;
  const examples = $("examples");
  examples.replaceChildren();
  for (const text of info.examples) {
    const li = el("li");
    const button = el("button", "", text);
    button.type = "button";
    button.addEventListener("click", () => {
      $("query").value = text;
      run();
    });
    li.append(button);
    examples.append(li);
  }
  const tools = $("tools");
  tools.replaceChildren();
  $("tool-count").textContent = String(info.tools.length);
  for (const tool of info.tools) {
    const li = el("li");
    li.append(el("code", "", signature(tool)), el("p", "", tool.description));
    tools.append(li);
  }
  if (!$("query").value && info.examples.length > 0) $("query").value = info.examples[0];
}

/** One column of results: a header and the list of step cards. */
function createRunView(title, sub) {
  const root = el("article", "panel run");
  const head = el("div", "run-head");
  const status = el("span", "status busy", "waiting");
  const subtitle = el("span", "sub", sub);
  head.append(el("h3", "", title), subtitle, status);
  const steps = el("ol", "steps");
  const pending = el("li", "step pending", "Thinking…");
  steps.append(pending);
  root.append(head, steps);
  root.dataset.state = "running";
  const cards = new Map();
  let lastT = 0;

  function card(step) {
    let entry = cards.get(step);
    if (!entry) {
      const li = el("li", "step");
      li.dataset.step = String(step);
      const top = el("div", "step-head");
      const timing = el("span", "timing");
      top.append(el("span", "n", `Step ${step}`), timing);
      li.append(top);
      steps.insertBefore(li, pending);
      entry = { li, timing, begin: lastT, model: null, tool: null };
      cards.set(step, entry);
    }
    return entry;
  }
  function part(entry, kind, label, body) {
    const box = el("div", `part ${kind}`);
    box.append(el("span", "label", label), body);
    entry.li.append(box);
  }
  function time(entry, t) {
    if (entry.model === null) entry.model = t - entry.begin;
    const bits = [`model ${ms(entry.model)}`];
    if (entry.tool !== null) bits.push(`tool ${ms(entry.tool)}`);
    entry.timing.textContent = bits.join(" · ");
  }
  function finish(kind, text) {
    pending.remove();
    status.className = `status ${kind}`;
    status.textContent = text;
    root.dataset.state = "done";
  }

  return {
    root,
    handle(event) {
      const t = event.t ?? lastT;
      switch (event.type) {
        case "queued":
          status.textContent = `queued (${event.position} ahead)`;
          break;
        case "start":
          status.textContent = "running";
          subtitle.textContent = [event.model, event.adapter ? `+ ${event.adapter}` : ""].filter(Boolean).join(" ");
          break;
        case "thought": {
          const entry = card(event.step);
          part(entry, "thought", "Thought", el("p", "", event.text));
          time(entry, t);
          break;
        }
        case "action": {
          const entry = card(event.step);
          part(entry, "action", "Action", el("pre", "", JSON.stringify({ name: event.call.name, arguments: event.call.arguments }, null, 2)));
          time(entry, t);
          pending.textContent = `Calling ${event.call.name}…`;
          break;
        }
        case "observation": {
          const entry = card(event.step);
          entry.tool = event.elapsedMs;
          part(entry, "observation", "Observation", el("pre", "", JSON.stringify(event.observation, null, 2)));
          time(entry, t);
          pending.textContent = "Thinking…";
          break;
        }
        case "answer": {
          const entry = card(event.step);
          entry.li.classList.add("answer");
          part(entry, "final", "Answer", el("p", "", event.text));
          time(entry, t);
          break;
        }
        case "error": {
          const entry = card(event.step || cards.size || 1);
          entry.li.classList.add(event.recovered ? "recovered" : "error");
          part(entry, "problem", event.recovered ? `${event.kind} (reported back)` : event.kind, el("p", "", event.message));
          break;
        }
        case "done": {
          const r = event.result;
          finish(r.status === "answered" ? "ok" : "bad", `${r.status === "answered" ? "answered" : r.status} · ${r.steps} step${r.steps === 1 ? "" : "s"} · ${ms(r.elapsedMs)}`);
          break;
        }
        case "fatal": {
          const li = el("li", "step error");
          li.append(el("span", "label", "Model error"), el("p", "", event.message));
          steps.insertBefore(li, pending);
          finish("bad", "failed");
          break;
        }
      }
      lastT = t;
    },
    fail(message) {
      const li = el("li", "step error");
      li.append(el("span", "label", "Request failed"), el("p", "", message));
      steps.insertBefore(li, pending);
      finish("bad", "failed");
    },
  };
}

/** Streams one agent run into a view. */
async function stream(body, view) {
  let res;
  try {
    res = await fetch("/v1/agent/run", { method: "POST", headers: headers(), body: JSON.stringify(body) });
  } catch (error) {
    view.fail(String(error));
    return;
  }
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      message = JSON.parse(text).error.message;
    } catch {}
    if (res.status === 401) $("key-box").hidden = false;
    view.fail(`${res.status}: ${message}`);
    return;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let at = buffer.indexOf("\n\n");
    while (at >= 0) {
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") continue;
        try {
          view.handle(JSON.parse(data));
        } catch (error) {
          console.error(error);
        }
      }
      at = buffer.indexOf("\n\n");
    }
  }
  if (view.root.dataset.state === "running") view.fail("the stream ended early");
}

async function run() {
  if (state.running) return;
  const query = $("query").value.trim();
  if (!query) return;
  const key = $("api-key").value;
  if (key) sessionStorage.setItem("agenttune-key", key);
  if (!state.info) await loadInfo();
  state.running = true;
  $("run").disabled = true;
  const runs = $("runs");
  runs.replaceChildren();
  const compare = !$("compare-toggle").hidden && $("compare").checked;
  runs.classList.toggle("two", compare);
  const info = state.info ?? { model: "model" };
  const jobs = [];
  if (compare) {
    const base = createRunView("Base model", info.base ?? "");
    const tuned = createRunView("With adapter", `${info.model}${info.adapter ? ` + ${info.adapter}` : ""}`);
    runs.append(base.root, tuned.root);
    jobs.push(stream({ query, variant: "base" }, base), stream({ query, variant: "adapter" }, tuned));
  } else {
    const view = createRunView(info.adapter ? "With adapter" : "Agent", `${info.model}${info.adapter ? ` + ${info.adapter}` : ""}`);
    runs.append(view.root);
    jobs.push(stream({ query }, view));
  }
  await Promise.all(jobs);
  state.running = false;
  $("run").disabled = false;
}

$("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  run();
});
$("query").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) run();
});
loadInfo().catch((error) => {
  $("model-chip").textContent = `cannot reach the server: ${error}`;
});
