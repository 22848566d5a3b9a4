// A strict little XML well-formedness check for the charts (no XML parser among the
// dependencies): one root, balanced and properly nested tags, quoted attributes without raw
// `<` or stray `&`, text without raw `<` or stray `&`. Returns the elements in document order.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  /** Text directly inside (entities left as they are). */
  text: string;
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function checkText(text: string, where: string): void {
  if (text.includes("<")) throw new Error(`raw "<" in ${where}`);
  if (text.replace(ENTITY, "").includes("&")) throw new Error(`unescaped "&" in ${where}`);
}

export function parseXml(source: string): XmlElement[] {
  const stack: XmlElement[] = [];
  const all: XmlElement[] = [];
  let roots = 0;
  let i = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>/y;
  while (i < source.length) {
    const lt = source.indexOf("<", i);
    const text = lt === -1 ? source.slice(i) : source.slice(i, lt);
    if (text.trim() !== "") {
      if (stack.length === 0) throw new Error(`text outside the root: ${JSON.stringify(text.slice(0, 40))}`);
      checkText(text, `the text of <${stack.at(-1)?.name}>`);
      (stack.at(-1) as XmlElement).text += text;
    }
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(source);
    if (m === null) throw new Error(`malformed tag at ${lt}: ${JSON.stringify(source.slice(lt, lt + 60))}`);
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? "nothing"}>`);
    } else {
      const attributes: Record<string, string> = {};
      for (const a of (attrText ?? "").matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) {
        if (a[1] in attributes) throw new Error(`attribute ${a[1]} twice on <${name}>`);
        checkText(a[2], `attribute ${a[1]} of <${name}>`);
        attributes[a[1]] = a[2];
      }
      const element: XmlElement = { name, attributes, text: "" };
      if (stack.length === 0) roots++;
      if (roots > 1) throw new Error("more than one root element");
      all.push(element);
      if (!selfClosing) stack.push(element);
    }
    i = tag.lastIndex;
  }
  if (stack.length > 0) throw new Error(`<${stack.at(-1)?.name}> is never closed`);
  if (all.length === 0) throw new Error("no element");
  return all;
}
