import { lookupKey } from "../simulate.js";

/**
 * Restaurant names per cuisine (made up, plausible), each cuisine's usual price band, and
 * street names for the best-known cities (others use common street names).
 */

export interface Cuisine {
  names: readonly string[];
  /** Cheapest and dearest price band, 1 = "$" … 4 = "$$$$". */
  price: [number, number];
}

export const CUISINES: Readonly<Record<string, Cuisine>> = {
  ramen: { names: ["Menya Kazan", "Ramen Hoshi", "Tonkotsu Ichigo", "Shoyu House", "Ramen Kaido", "Noodle Dojo"], price: [1, 2] },
  sushi: { names: ["Sushi Kaito", "Umi Sushi Bar", "Sakura Omakase", "Sushi Tsubaki", "Hikari Sushi", "Nori & Rice"], price: [2, 4] },
  pizza: { names: ["Forno Rosso", "Slice of Naples", "Pizzeria Da Marco", "Brick Oven Co.", "Napoli Centrale", "Crust & Co."], price: [1, 2] },
  italian: { names: ["Trattoria Bella", "Osteria del Ponte", "La Cucina di Nonna", "Il Giardino", "Trattoria Lucia", "Casa Verde"], price: [2, 3] },
  mexican: { names: ["La Cantina Roja", "Taquería El Sol", "Casa Oaxaca", "Cocina Azul", "El Mariachi", "Tacos Don Pepe"], price: [1, 2] },
  thai: { names: ["Baan Thai", "Siam Orchid", "Lotus of Bangkok", "Thai Basil", "Krua Thai", "Jasmine Kitchen"], price: [1, 2] },
  indian: { names: ["Spice Route", "Tandoori Nights", "Masala House", "Saffron Palace", "The Curry Leaf", "Bombay Brasserie"], price: [1, 3] },
  chinese: { names: ["Golden Dragon", "Jade Garden", "Sichuan House", "Red Lantern", "Peking Court", "Lucky Bamboo"], price: [1, 3] },
  french: { names: ["Le Petit Bistro", "Brasserie Lumière", "Chez Margot", "Le Comptoir Doré", "Bistrot du Marché", "La Belle Époque"], price: [3, 4] },
  vegan: { names: ["Green Table", "Sprout & Seed", "The Plant Kitchen", "Root Bowl", "Leaf & Grain", "Verdant"], price: [2, 3] },
  vegetarian: { names: ["The Green Fork", "Garden Plate", "Harvest Table", "Lentil & Lime", "Veggie Grill House", "Sage"], price: [1, 2] },
  seafood: { names: ["The Oyster Bar", "Harbour Catch", "Blue Fin Grill", "Salt & Tide", "The Lobster Pot", "Pier 9 Seafood"], price: [3, 4] },
  burger: { names: ["Burger Foundry", "The Patty Shack", "Smash Burger Co.", "Grill Republic", "Bun & Bacon", "Stack House"], price: [1, 2] },
  "korean bbq": { names: ["Seoul Garden", "Gogi House", "Bulgogi Brothers", "Hanok Grill", "Charcoal Seoul", "Kimchi & Coal"], price: [2, 3] },
  korean: { names: ["Hanok Kitchen", "Seoul Table", "Bibim House", "Kimchi Story", "Gangnam Eats", "Mapo Kitchen"], price: [1, 2] },
  japanese: { names: ["Izakaya Tanuki", "Hana Japanese Kitchen", "Kyoto Table", "Sakura Tei", "Yuzu", "Wa Dining"], price: [2, 3] },
  tapas: { names: ["La Taberna", "Bodega Sol", "Tapas Alegría", "El Rincón", "Casa Pintxos", "La Gitana"], price: [2, 3] },
  spanish: { names: ["Casa Madrid", "La Paella", "El Azafrán", "Mesón del Sol", "Sevilla Kitchen", "La Rioja"], price: [2, 3] },
  "dim sum": { names: ["Jade Dumpling House", "Golden Lotus Dim Sum", "Bamboo Basket", "Dim Sum Palace", "Har Gow House", "Pearl Tea House"], price: [1, 2] },
  steak: { names: ["The Prime Cut", "Ember Steakhouse", "Black Angus Grill", "Iron & Oak", "The Butcher's Table", "Ribeye Room"], price: [3, 4] },
  vietnamese: { names: ["Pho Saigon", "Little Hanoi", "Banh Mi Corner", "Lotus Pho", "Mekong Kitchen", "Saigon Street"], price: [1, 2] },
  greek: { names: ["The Olive Tree", "Taverna Mykonos", "Athena Grill", "Santorini Blue", "Yia Yia's Kitchen", "Kalimera"], price: [2, 3] },
  lebanese: { names: ["Cedar House", "Beirut Nights", "Zaatar & Olive", "Byblos Grill", "Levant Kitchen", "Al Manara"], price: [2, 3] },
  ethiopian: { names: ["Queen of Sheba", "Addis Red Sea", "Lalibela", "Injera House", "Blue Nile", "Habesha Kitchen"], price: [1, 2] },
  "hot pot": { names: ["Red Broth Hot Pot", "Spicy Cauldron", "Mala Pot", "Steam & Simmer", "Hot Pot Garden", "Chili House"], price: [2, 3] },
  soup: { names: ["The Soup Kitchen", "Ladle & Loaf", "Broth Bar", "Soup Society", "Hearth Bowl", "Simmer"], price: [1, 1] },
  curry: { names: ["Curry House", "Katsu Curry Co.", "Spice Pot", "Curry Leaf Kitchen", "Golden Curry", "The Curry Bowl"], price: [1, 2] },
  pho: { names: ["Pho 88", "Pho Hoa Binh", "Pho Ha Noi", "Bowl of Pho", "Pho Real", "Star Anise"], price: [1, 1] },
  fondue: { names: ["Le Chalet", "Fondue Stübli", "Alpine Pot", "Swiss Melt", "Gruyère House", "Chalet Suisse"], price: [3, 4] },
  "ice cream": { names: ["Scoops & Smiles", "The Creamery", "Frost Parlour", "Sweet Cone", "Polar Scoop", "Vanilla Bean"], price: [1, 1] },
  gelato: { names: ["Gelateria Dolce", "Gelato Fresco", "Pistacchio", "Gelato Luna", "Cremeria Roma", "Il Gelataio"], price: [1, 2] },
  salad: { names: ["Green Bowl", "Leafy Greens", "Salad Society", "Crisp", "Fresh & Co.", "The Salad Bar"], price: [1, 2] },
  poke: { names: ["Poke Bay", "Aloha Poke", "Ono Bowl", "Island Poke", "Mahalo Poke", "Poke Lab"], price: [1, 2] },
  "frozen yogurt": { names: ["Froyo Spot", "Swirl", "Yo Frost", "Berry Cool", "Tart & Tangy", "Chill Yogurt"], price: [1, 1] },
  cafe: { names: ["The Daily Grind", "Bean & Leaf", "Café Aurora", "Morning Ritual", "Brew Lab", "Corner Café"], price: [1, 2] },
  bakery: { names: ["Golden Crust Bakery", "Rise & Shine", "Flour & Butter", "The Bread Box", "Le Fournil", "Sweet Crumb"], price: [1, 1] },
};

/** Cuisines picked when the caller names none. */
export const POPULAR_CUISINES = ["italian", "japanese", "chinese", "mexican", "indian", "thai", "french", "seafood", "burger", "pizza"];

const CUISINE_ALIASES: Record<string, string> = {
  noodles: "ramen", "ramen noodles": "ramen", burgers: "burger", hamburger: "burger", steakhouse: "steak", bbq: "korean bbq",
  "korean barbecue": "korean bbq", "dim-sum": "dim sum", dimsum: "dim sum", coffee: "cafe", café: "cafe", "hotpot": "hot pot",
  "frozen yoghurt": "frozen yogurt", froyo: "frozen yogurt", "sea food": "seafood", fish: "seafood", "plant based": "vegan",
};

/** The cuisine entry for a free-text cuisine ("Ramen", "ramen noodles", "Korean BBQ"); undefined when unknown. */
export function findCuisine(text: string): { key: string; cuisine: Cuisine } | undefined {
  const key = lookupKey(text).replace(/ (food|restaurant|restaurants|place|cuisine)$/, "");
  const resolved = CUISINES[key] !== undefined ? key : CUISINE_ALIASES[key];
  if (resolved === undefined) return undefined;
  return { key: resolved, cuisine: CUISINES[resolved] };
}

/** Real street names for the best-known cities; `{n}` is the house number. */
export const STREETS: Readonly<Record<string, readonly string[]>> = {
  Tokyo: ["{n} Dogenzaka, Shibuya", "{n} Omotesando, Minato", "{n} Chuo-dori, Ginza", "{n} Meiji-dori, Shinjuku"],
  Osaka: ["{n} Dotonbori, Chuo", "{n} Midosuji, Namba", "{n} Tenjinbashi, Kita"],
  Paris: ["{n} Rue de Rivoli", "{n} Rue Oberkampf", "{n} Boulevard Saint-Germain", "{n} Rue Montorgueil"],
  London: ["{n} Brick Lane", "{n} Old Compton Street", "{n} Marylebone High Street", "{n} Upper Street"],
  "New York": ["{n} Bleecker Street", "{n} Broadway", "{n} Mott Street", "{n} Bedford Avenue"],
  Berlin: ["Kastanienallee {n}", "Oranienstraße {n}", "Torstraße {n}", "Bergmannstraße {n}"],
  Madrid: ["Calle de la Cava Baja {n}", "Calle de Fuencarral {n}", "Calle Mayor {n}", "Calle de Ponzano {n}"],
  Rome: ["Via del Governo Vecchio {n}", "Via della Lungaretta {n}", "Via dei Coronari {n}", "Via Ostiense {n}"],
  Sydney: ["{n} George Street", "{n} Crown Street", "{n} King Street, Newtown", "{n} Oxford Street"],
  "San Francisco": ["{n} Valencia Street", "{n} Grant Avenue", "{n} Clement Street", "{n} Divisadero Street"],
  "Los Angeles": ["{n} Sunset Boulevard", "{n} Sawtelle Boulevard", "{n} Abbot Kinney Boulevard", "{n} Melrose Avenue"],
  Chicago: ["{n} West Randolph Street", "{n} North Clark Street", "{n} Milwaukee Avenue", "{n} Halsted Street"],
  Seoul: ["{n} Gyeongridan-gil, Yongsan", "{n} Insadong-gil, Jongno", "{n} Garosu-gil, Gangnam"],
  Singapore: ["{n} Amoy Street", "{n} Keong Saik Road", "{n} Haji Lane", "{n} Orchard Road"],
  Bangkok: ["{n} Sukhumvit Soi 11", "{n} Charoen Krung Road", "{n} Thonglor Soi 10"],
  Dubai: ["{n} Jumeirah Beach Road", "{n} Al Wasl Road", "{n} Sheikh Zayed Road"],
  Reykjavik: ["Laugavegur {n}", "Skólavörðustígur {n}", "Hverfisgata {n}"],
  Amsterdam: ["Utrechtsestraat {n}", "Haarlemmerstraat {n}", "Ferdinand Bolstraat {n}"],
  Barcelona: ["Carrer de Blai {n}", "Passeig de Gràcia {n}", "Carrer del Parlament {n}"],
  Lisbon: ["Rua da Rosa {n}", "Rua Augusta {n}", "Rua de São Bento {n}"],
  Toronto: ["{n} Queen Street West", "{n} Ossington Avenue", "{n} Spadina Avenue"],
  Istanbul: ["İstiklal Caddesi {n}", "Kadıköy Moda Caddesi {n}", "Bağdat Caddesi {n}"],
};

/** Street names for other places. */
export const COMMON_STREETS = [
  "{n} Main Street", "{n} Market Street", "{n} Park Avenue", "{n} Station Road", "{n} Harbour Street", "{n} King Street",
  "{n} Church Street", "{n} Riverside Drive", "{n} High Street", "{n} Oak Avenue",
];
