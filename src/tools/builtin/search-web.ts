import { lookupKey, SimRandom } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

interface Source {
  host: string;
  title: (t: string) => string;
  path: (slug: string, words: string) => string;
  snippet: (q: string) => string;
  /** Which kinds of query the source answers. */
  kinds: readonly ("general" | "news" | "howto" | "code" | "review")[];
}

const SOURCES: readonly Source[] = [
  { host: "en.wikipedia.org", title: (t) => `${t} - Wikipedia`, path: (_s, w) => `/wiki/${w}`, snippet: (q) => `An overview of ${q}: background, history and key facts, with references and further reading.`, kinds: ["general"] },
  { host: "www.britannica.com", title: (t) => `${t} | Britannica`, path: (s) => `/topic/${s}`, snippet: (q) => `Britannica's article on ${q}, written and reviewed by subject experts.`, kinds: ["general"] },
  { host: "www.bbc.com", title: (t) => `${t}: what you need to know - BBC News`, path: (s) => `/news/${s}`, snippet: (q) => `The latest reporting on ${q}, with analysis and background from BBC correspondents.`, kinds: ["news", "general"] },
  { host: "www.reuters.com", title: (t) => `${t} | Reuters`, path: (s) => `/world/${s}`, snippet: (q) => `Reuters coverage of ${q}: breaking news, data and context.`, kinds: ["news"] },
  { host: "apnews.com", title: (t) => `${t} | AP News`, path: (s) => `/hub/${s}`, snippet: (q) => `Follow AP's coverage of ${q}, updated through the day.`, kinds: ["news"] },
  { host: "www.nationalgeographic.com", title: (t) => `${t} | National Geographic`, path: (s) => `/topic/${s}`, snippet: (q) => `Stories, photos and explainers about ${q} from National Geographic.`, kinds: ["general"] },
  { host: "www.wikihow.com", title: (t) => `How to ${t.replace(/^How To /i, "")}: Step-by-Step Guide - wikiHow`, path: (s) => `/${s}`, snippet: (q) => `A step-by-step guide to ${q.replace(/^how to /i, "")}, with illustrations and tips from experts.`, kinds: ["howto"] },
  { host: "www.reddit.com", title: (t) => `${t} : r/AskReddit`, path: (s) => `/r/AskReddit/comments/${s}`, snippet: (q) => `Community discussion of ${q}: experiences, recommendations and answers from users.`, kinds: ["general", "howto", "review"] },
  { host: "www.youtube.com", title: (t) => `${t} - YouTube`, path: (s) => `/results?search_query=${s}`, snippet: (q) => `Videos about ${q}: tutorials, explainers and reviews.`, kinds: ["howto", "review", "general"] },
  { host: "medium.com", title: (t) => `${t}: A Practical Guide | Medium`, path: (s) => `/@guides/${s}`, snippet: (q) => `A practical, hands-on look at ${q}, with examples and lessons learned.`, kinds: ["howto", "code"] },
  { host: "developer.mozilla.org", title: (t) => `${t} - MDN Web Docs`, path: (s) => `/en-US/search?q=${s}`, snippet: (q) => `Documentation and guides related to ${q} on MDN Web Docs.`, kinds: ["code"] },
  { host: "stackoverflow.com", title: (t) => `${t} - Stack Overflow`, path: (s) => `/questions/tagged/${s}`, snippet: (q) => `Questions and answers about ${q} from the developer community.`, kinds: ["code"] },
  { host: "www.consumerreports.org", title: (t) => `${t}: Ratings and Reviews - Consumer Reports`, path: (s) => `/${s}`, snippet: (q) => `Independent tests and ratings for ${q}, with buying advice.`, kinds: ["review"] },
  { host: "www.theverge.com", title: (t) => `${t} | The Verge`, path: (s) => `/search?q=${s}`, snippet: (q) => `News and reviews about ${q} from The Verge.`, kinds: ["review", "news"] },
  { host: "www.healthline.com", title: (t) => `${t}: Evidence-Based Guide - Healthline`, path: (s) => `/health/${s}`, snippet: (q) => `What the research says about ${q}, medically reviewed.`, kinds: ["general"] },
];

function kindOf(query: string): "general" | "news" | "howto" | "code" | "review" {
  const q = lookupKey(query);
  if (/\b(news|latest|today|update|announce)/.test(q)) return "news";
  if (/\b(typescript|javascript|python|rust|java|sql|css|html|api|code|programming|node)\b/.test(q)) return "code";
  if (/\b(how to|guide|tips|learn|lessons|recipe|ideas)\b/.test(q)) return "howto";
  if (/\b(review|reviews|best|vs|compare|rating)\b/.test(q)) return "review";
  return "general";
}

/** search_web: a few plausible search results for a query. */
export const searchWeb: BuiltinTool = {
  name: "search_web",
  description: "Search the web and return the top results (title, URL and a snippet) for a query.",
  parameters: {
    type: "object",
    properties: {
      query: { type: "string", minLength: 1, description: "What to search for" },
      max_results: { type: "integer", minimum: 1, maximum: 5, default: 3, description: "How many results (1–5)" },
    },
    required: ["query"],
    additionalProperties: false,
  },
  examples: [{ query: "renewable energy news" }, { query: "how to brew pour-over coffee", max_results: 5 }],
  execute(args, { seed }): JsonValue {
    const query = String(args.query).trim().replace(/\s+/g, " ");
    const n = (args.max_results as number | undefined) ?? 3;
    const rng = SimRandom.of("search_web", lookupKey(query), seed);
    const kind = kindOf(query);
    const fitting = rng.shuffle(SOURCES.filter((s) => s.kinds.includes(kind)));
    const rest = rng.shuffle(SOURCES.filter((s) => !s.kinds.includes(kind)));
    const title = query.replace(/\S+/g, (w) => (w.length > 3 || w === query.split(" ")[0] ? w[0].toUpperCase() + w.slice(1) : w));
    const slug = lookupKey(query).replace(/[^a-z0-9 ]/g, "").trim().replace(/ /g, "-");
    const words = title.replace(/ /g, "_");
    const results: JsonValue[] = [...fitting, ...rest].slice(0, n).map((s) => ({
      title: s.title(title),
      url: `https://${s.host}${s.path(encodeURIComponent(slug), encodeURIComponent(words))}`,
      snippet: s.snippet(query),
    }));
    return { query, results };
  },
};
