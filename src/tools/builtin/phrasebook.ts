import { lookupKey } from "../simulate.js";

/** The languages the phrasebook covers, in the column order of PHRASES. */
export const PHRASEBOOK_LANGUAGES = ["Spanish", "French", "German", "Italian", "Japanese", "Portuguese", "Chinese", "Korean"] as const;
export type PhrasebookLanguage = (typeof PHRASEBOOK_LANGUAGES)[number];

const LANGUAGE_NAMES: Record<string, PhrasebookLanguage> = {
  spanish: "Spanish", es: "Spanish", espanol: "Spanish", castellano: "Spanish",
  french: "French", fr: "French", francais: "French",
  german: "German", de: "German", deutsch: "German",
  italian: "Italian", it: "Italian", italiano: "Italian",
  japanese: "Japanese", ja: "Japanese", jp: "Japanese", "日本語": "Japanese",
  portuguese: "Portuguese", pt: "Portuguese", portugues: "Portuguese", "brazilian portuguese": "Portuguese",
  chinese: "Chinese", zh: "Chinese", mandarin: "Chinese", "mandarin chinese": "Chinese", "simplified chinese": "Chinese", "中文": "Chinese",
  korean: "Korean", ko: "Korean", "한국어": "Korean",
};

/** The phrasebook language named by free text ("Spanish", "es", "español"); undefined when not covered. */
export function findLanguage(text: string): PhrasebookLanguage | undefined {
  return LANGUAGE_BY_KEY.get(lookupKey(text));
}

// Keys go through the same normalisation as the input (NFD splits Hangul, so raw keys would not match).
const LANGUAGE_BY_KEY = new Map(Object.entries(LANGUAGE_NAMES).map(([k, v]) => [lookupKey(k), v]));

// English phrase (lookup form), then Spanish, French, German, Italian, Japanese, Portuguese, Chinese, Korean.
const ROWS: [string, ...string[]][] = [
  ["hello", "Hola", "Bonjour", "Hallo", "Ciao", "こんにちは", "Olá", "你好", "안녕하세요"],
  ["goodbye", "Adiós", "Au revoir", "Auf Wiedersehen", "Arrivederci", "さようなら", "Adeus", "再见", "안녕히 가세요"],
  ["good morning", "Buenos días", "Bonjour", "Guten Morgen", "Buongiorno", "おはようございます", "Bom dia", "早上好", "좋은 아침입니다"],
  ["good evening", "Buenas tardes", "Bonsoir", "Guten Abend", "Buonasera", "こんばんは", "Boa noite", "晚上好", "좋은 저녁입니다"],
  ["good night", "Buenas noches", "Bonne nuit", "Gute Nacht", "Buonanotte", "おやすみなさい", "Boa noite", "晚安", "안녕히 주무세요"],
  ["thank you", "Gracias", "Merci", "Danke", "Grazie", "ありがとうございます", "Obrigado", "谢谢", "감사합니다"],
  ["please", "Por favor", "S'il vous plaît", "Bitte", "Per favore", "お願いします", "Por favor", "请", "부탁합니다"],
  ["excuse me", "Disculpe", "Excusez-moi", "Entschuldigung", "Mi scusi", "すみません", "Com licença", "打扰一下", "실례합니다"],
  ["sorry", "Lo siento", "Désolé", "Es tut mir leid", "Mi dispiace", "ごめんなさい", "Desculpe", "对不起", "죄송합니다"],
  ["yes", "Sí", "Oui", "Ja", "Sì", "はい", "Sim", "是", "네"],
  ["no", "No", "Non", "Nein", "No", "いいえ", "Não", "不", "아니요"],
  ["welcome", "Bienvenido", "Bienvenue", "Willkommen", "Benvenuto", "ようこそ", "Bem-vindo", "欢迎", "환영합니다"],
  ["nice to meet you", "Encantado de conocerte", "Enchanté", "Freut mich, Sie kennenzulernen", "Piacere di conoscerti", "はじめまして", "Prazer em conhecê-lo", "很高兴认识你", "만나서 반갑습니다"],
  ["how are you", "¿Cómo estás?", "Comment allez-vous ?", "Wie geht es Ihnen?", "Come stai?", "お元気ですか？", "Como você está?", "你好吗？", "어떻게 지내세요?"],
  ["where is the train station", "¿Dónde está la estación de tren?", "Où est la gare ?", "Wo ist der Bahnhof?", "Dov'è la stazione ferroviaria?", "駅はどこですか？", "Onde fica a estação de trem?", "火车站在哪里？", "기차역이 어디에 있어요?"],
  ["where is the bathroom", "¿Dónde está el baño?", "Où sont les toilettes ?", "Wo ist die Toilette?", "Dov'è il bagno?", "トイレはどこですか？", "Onde fica o banheiro?", "洗手间在哪里？", "화장실이 어디에 있어요?"],
  ["how much does this cost", "¿Cuánto cuesta esto?", "Combien ça coûte ?", "Wie viel kostet das?", "Quanto costa questo?", "これはいくらですか？", "Quanto custa isso?", "这个多少钱？", "이거 얼마예요?"],
  ["i dont understand", "No entiendo", "Je ne comprends pas", "Ich verstehe nicht", "Non capisco", "わかりません", "Não entendo", "我不明白", "이해가 안 돼요"],
  ["can i have the bill, please", "La cuenta, por favor", "L'addition, s'il vous plaît", "Die Rechnung, bitte", "Il conto, per favore", "お会計をお願いします", "A conta, por favor", "请买单", "계산서 주세요"],
  ["see you tomorrow", "Hasta mañana", "À demain", "Bis morgen", "A domani", "また明日", "Até amanhã", "明天见", "내일 봐요"],
  ["happy birthday", "¡Feliz cumpleaños!", "Joyeux anniversaire !", "Alles Gute zum Geburtstag!", "Buon compleanno!", "お誕生日おめでとうございます", "Feliz aniversário!", "生日快乐！", "생일 축하합니다!"],
  ["i love you", "Te quiero", "Je t'aime", "Ich liebe dich", "Ti amo", "愛してる", "Eu te amo", "我爱你", "사랑해요"],
  ["cheers", "¡Salud!", "Santé !", "Prost!", "Salute!", "乾杯！", "Saúde!", "干杯！", "건배!"],
  ["help", "¡Ayuda!", "Au secours !", "Hilfe!", "Aiuto!", "助けて！", "Socorro!", "救命！", "도와주세요!"],
];

const ALIASES: Record<string, string> = {
  hi: "hello", "hello there": "hello", bye: "goodbye", "good bye": "goodbye", thanks: "thank you", "thank you very much": "thank you",
  "thanks a lot": "thank you", "where is the toilet": "where is the bathroom", "where is the restroom": "where is the bathroom",
  "how much is this": "how much does this cost", "the bill, please": "can i have the bill, please", "check, please": "can i have the bill, please",
  "can i have the check, please": "can i have the bill, please", "i do not understand": "i dont understand", "how are you doing": "how are you",
};

/** Phrase lookup form: lowercase, accents and apostrophes dropped, end punctuation removed. */
function phraseKey(text: string): string {
  return lookupKey(text).replace(/[!?¡¿.。！？]+/g, "").trim();
}

const TABLE = new Map<string, readonly string[]>(ROWS.map(([en, ...rest]) => [phraseKey(en), rest]));

/** The phrasebook rendering of `text` in `language`, or undefined when the phrase is not in it. */
export function lookupPhrase(text: string, language: PhrasebookLanguage): string | undefined {
  const key = phraseKey(text);
  const row = TABLE.get(key) ?? TABLE.get(phraseKey(ALIASES[key] ?? ""));
  return row?.[PHRASEBOOK_LANGUAGES.indexOf(language)];
}

/** The English phrases the phrasebook knows (lookup form). */
export const PHRASEBOOK_PHRASES: readonly string[] = ROWS.map(([en]) => en);
