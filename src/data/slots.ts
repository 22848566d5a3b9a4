/**
 * Slot values for the task templates: real city names, cuisines, currencies, stock symbols,
 * phrases, people, dates. Templates draw from these lists; the lists are data, not logic.
 */

export const CITIES = [
  "Tokyo", "Paris", "London", "New York", "Reykjavik", "Dubai", "Sydney", "Berlin", "Madrid", "Rome",
  "Moscow", "Toronto", "Singapore", "Seoul", "Mumbai", "Cairo", "Bangkok", "Istanbul", "Mexico City", "Los Angeles",
  "Chicago", "San Francisco", "Hong Kong", "Beijing", "Shanghai", "Osaka", "Delhi", "Lagos", "Nairobi", "Cape Town",
  "Buenos Aires", "Rio de Janeiro", "Lima", "Jakarta", "Manila", "Oslo", "Stockholm", "Helsinki", "Amsterdam", "Vancouver",
  "Montreal", "Melbourne", "Lisbon", "Vienna", "Prague", "Dublin",
] as const;

/** Cities that are usually cold or usually hot, so conditional tasks see both branches often. */
export const COLD_CITIES = ["Reykjavik", "Oslo", "Helsinki", "Moscow", "Stockholm", "Toronto", "Montreal"] as const;
export const HOT_CITIES = ["Dubai", "Singapore", "Bangkok", "Mumbai", "Cairo", "Jakarta", "Manila", "Lagos"] as const;

export const CUISINES = [
  "ramen", "sushi", "pizza", "Italian", "Mexican", "Thai", "Indian", "Chinese", "French", "vegan",
  "seafood", "burger", "Korean BBQ", "tapas", "dim sum", "steak", "Vietnamese", "Greek", "Lebanese", "Ethiopian",
] as const;

/** Warm-food cuisines for "if it's cold" tasks, cool ones for "if it's hot". */
export const WARM_CUISINES = ["ramen", "hot pot", "soup", "curry", "pho", "fondue", "Korean BBQ", "Indian"] as const;
export const COOL_CUISINES = ["ice cream", "gelato", "sushi", "salad", "poke", "frozen yogurt"] as const;

export interface Currency {
  code: string;
  name: string;
}

export const CURRENCIES: readonly Currency[] = [
  { code: "USD", name: "US dollars" },
  { code: "EUR", name: "euros" },
  { code: "GBP", name: "British pounds" },
  { code: "JPY", name: "Japanese yen" },
  { code: "CHF", name: "Swiss francs" },
  { code: "CAD", name: "Canadian dollars" },
  { code: "AUD", name: "Australian dollars" },
  { code: "CNY", name: "Chinese yuan" },
  { code: "INR", name: "Indian rupees" },
  { code: "KRW", name: "South Korean won" },
  { code: "SEK", name: "Swedish kronor" },
  { code: "NOK", name: "Norwegian kroner" },
  { code: "MXN", name: "Mexican pesos" },
  { code: "BRL", name: "Brazilian reais" },
  { code: "SGD", name: "Singapore dollars" },
];

export interface Company {
  symbol: string;
  name: string;
}

export const COMPANIES: readonly Company[] = [
  { symbol: "AAPL", name: "Apple" },
  { symbol: "MSFT", name: "Microsoft" },
  { symbol: "GOOGL", name: "Alphabet" },
  { symbol: "AMZN", name: "Amazon" },
  { symbol: "TSLA", name: "Tesla" },
  { symbol: "NVDA", name: "Nvidia" },
  { symbol: "META", name: "Meta" },
  { symbol: "NFLX", name: "Netflix" },
  { symbol: "IBM", name: "IBM" },
  { symbol: "INTC", name: "Intel" },
  { symbol: "AMD", name: "AMD" },
  { symbol: "ORCL", name: "Oracle" },
  { symbol: "DIS", name: "Disney" },
  { symbol: "KO", name: "Coca-Cola" },
  { symbol: "NKE", name: "Nike" },
  { symbol: "JPM", name: "JPMorgan Chase" },
  { symbol: "WMT", name: "Walmart" },
  { symbol: "BA", name: "Boeing" },
];

export const LANGUAGES = ["Spanish", "French", "German", "Italian", "Japanese", "Portuguese", "Chinese", "Korean"] as const;

export const PHRASES = [
  "Good morning", "Thank you", "Where is the train station?", "How much does this cost?", "Hello", "Goodbye",
  "Excuse me", "Good night", "Please", "Nice to meet you", "Where is the bathroom?", "I don't understand",
  "Can I have the bill, please?", "See you tomorrow", "Happy birthday",
] as const;

export interface Person {
  name: string;
  email: string;
}

export const PEOPLE: readonly Person[] = [
  { name: "Alice", email: "alice@example.com" },
  { name: "Bob", email: "bob@example.com" },
  { name: "Maria Garcia", email: "maria.garcia@example.com" },
  { name: "Kenji", email: "kenji.sato@example.jp" },
  { name: "Priya", email: "priya.n@example.org" },
  { name: "Tom", email: "tom.h@example.net" },
  { name: "Fatima", email: "fatima@example.com" },
  { name: "Lucas", email: "lucas.m@example.com" },
  { name: "Chen Wei", email: "chen.wei@example.cn" },
  { name: "Olga", email: "olga.ivanova@example.com" },
  { name: "Sam", email: "sam@example.org" },
  { name: "my manager", email: "manager@example.com" },
];

export const DATES = [
  "2026-12-01", "2026-12-03", "2026-12-07", "2026-12-10", "2026-12-15", "2026-12-18", "2027-01-05",
  "2027-01-12", "2027-01-20", "2027-02-02", "2027-02-14", "2027-03-01",
] as const;

export const TIMES = ["08:30", "09:00", "10:00", "11:15", "12:30", "14:00", "15:30", "16:45", "18:00", "19:30"] as const;

export const EVENT_TITLES = [
  "Team meeting", "Dentist appointment", "Lunch with Sam", "Project review", "Yoga class", "Call with the bank",
  "Dinner with Alice", "Budget planning", "Doctor's appointment", "Book club", "Gym session", "Parent-teacher meeting",
] as const;

export const WEB_TOPICS = [
  "renewable energy news", "the best hiking trails in Colorado", "how to learn TypeScript", "the history of the Eiffel Tower",
  "tips for working from home", "electric car reviews", "the James Webb Space Telescope", "healthy breakfast ideas",
  "the rules of cricket", "how to brew pour-over coffee", "the tallest buildings in the world", "beginner guitar lessons",
  "the latest smartphone releases", "how to grow tomatoes", "the benefits of meditation",
] as const;

export const AMOUNTS = [5, 12, 20, 25, 40, 50, 75, 99.99, 100, 120, 150, 200, 250, 300, 480, 500, 750, 1000, 1200, 2500, 5000] as const;
