/**
 * A third set of train phrasings, keyed by template id, in shapes the first two sets use little:
 * the ask stated as a need or a wish ("I need…", "I'd like…"), a question inside a question
 * ("Do you know…", "Any idea…"), the topic first and the ask after a colon, a job handed over
 * ("Your task: …"), and everyday verbs for the tool's work (pull up, grab, look into, work out).
 * A build draws from them only with `thirdPhrasings` (an experiment).
 *
 * Written after reading the failures of earlier runs, which show a few held-out (".b") queries:
 * the drafts that came out resembling those (a context sentence before a share price, "n of us"
 * sharing a sum, items bought at a price each) were taken out, and the test that guards the
 * second set keeps these from sharing a shape with, or nearly copying, any held-out phrasing too. The single-call sets
 * also serve the missing-tool templates of the same request.
 */

const WEATHER = [
  "I need the current weather for {city}.",
  "Do you know what the weather is like in {city} today?",
  "{city}: rain, sun or snow?",
  "Your task: find out the conditions in {city}.",
  "I'd like a weather report for {city}.",
  "Any idea whether it's nice out in {city}?",
  "Pull up the weather in {city} for me.",
  "We're deciding whether to drive to {city}. What are the conditions there now?",
  "Give me {city}'s weather, please.",
  "Can you find out how warm it is in {city}?",
];

const WEATHER_FAHRENHEIT = [
  "I need the temperature in {city}, and in Fahrenheit please.",
  "Do you know how many degrees Fahrenheit it is in {city}?",
  "{city}: what's the reading in °F?",
  "Your task: the temperature in {city}, on the Fahrenheit scale.",
  "I'd like {city}'s current temperature in Fahrenheit.",
  "Any idea how hot {city} is right now in Fahrenheit?",
  "Pull up the weather in {city} and give the temperature in F.",
  "My thermostat is in Fahrenheit, so tell me {city}'s temperature that way.",
];

const RESTAURANT = [
  "I need a good {cuisine} restaurant in {city}.",
  "Do you know a {cuisine} place in {city}?",
  "{city}: where can I get {cuisine}?",
  "Your task: find a {cuisine} spot in {city}.",
  "I'd like to eat {cuisine} tonight in {city}. Where should I go?",
  "Any idea where to find decent {cuisine} food in {city}?",
  "Pull up a {cuisine} restaurant in {city} for me.",
  "We have guests in {city} who love {cuisine}. Which restaurant would you pick?",
  "Give me one {cuisine} restaurant in {city}.",
  "Can you look for a {cuisine} restaurant around {city}?",
];

const TIME = [
  "I need the local time in {city}.",
  "Do you know what time it is over in {city}?",
  "{city}: what's the clock saying there?",
  "Your task: the current time in {city}.",
  "I'd like to know the hour in {city} before I phone my colleague.",
  "Any idea if it's morning or evening in {city} right now?",
  "Pull up the time in {city} for me.",
  "My friend in {city} might be asleep. What time is it there?",
  "Give me the time of day in {city}.",
  "Can you find out today's date and time in {city}?",
];

const STOCK = [
  "I need the latest price of {symbol}.",
  "Do you know what {company} stock trades at today?",
  "{company}: where is the share price now?",
  "Your task: look up the {symbol} ticker.",
  "I'd like to see how {company} shares are doing.",
  "Any idea what one {symbol} share goes for?",
  "Pull up {company}'s stock for me.",
  "I hold some {company} in my portfolio. What is it worth a share today?",
  "Give me the market price for {symbol}.",
  "Can you check how {symbol} is trading?",
];

const CURRENCY = [
  "I need {amount} {from} in {to}.",
  "Do you know how much {amount} {fromName} is in {toName}?",
  "{amount} {from}: what is that in {to}?",
  "Your task: change {amount} {from} into {to}.",
  "I'd like to know what {amount} {from} comes to in {to}.",
  "Any idea what {amount} {fromName} would get me in {toName}?",
  "Work out {amount} {from} in {to} for me.",
  "I have {amount} {fromName} left from a trip. How much is it in {toName}?",
  "Give me the {to} value of {amount} {from}.",
  "Can you turn {amount} {from} into {to}?",
];

const TRANSLATE = [
  'I need a {language} translation of "{phrase}".',
  'Do you know how to say "{phrase}" in {language}?',
  '"{phrase}": what is it in {language}?',
  'Your task: put "{phrase}" into {language}.',
  'I\'d like the {language} version of "{phrase}".',
  'Any idea what "{phrase}" would be in {language}?',
  'Render "{phrase}" in {language} for me.',
  'I\'m writing a card for a friend who speaks {language}. How do I write "{phrase}"?',
  'Give me "{phrase}" translated to {language}.',
  'Can you turn "{phrase}" into {language}?',
];

const WEB = [
  "I need some information on {topic}.",
  "Do you know where I could read up on {topic}? Search for it.",
  "{topic}: find me something online.",
  "Your task: look into {topic} on the web.",
  "I'd like to learn more about {topic}. Search it.",
  "Any idea what the web says about {topic}?",
  "Pull up a page about {topic} for me.",
  "I have a presentation on {topic} tomorrow. Search the internet for a source.",
  "Give me a web result about {topic}.",
  "Can you google {topic}?",
];

const MULTIPLY = [
  "I need {a} multiplied by {b}.",
  "Do you know what {a} times {b} is?",
  "{a} × {b}: what's the result?",
  "Your task: work out {a} * {b}.",
  "I'd like the product of {a} and {b}.",
  "Any idea what {a} by {b} comes to?",
  "Multiply {a} and {b} for me.",
  "Give me {a} times {b}.",
  "Can you calculate {a} multiplied by {b}?",
];

const PERCENT = [
  "I need {p} percent of {a}.",
  "Do you know what {p}% of {a} comes to?",
  "{a}: what is {p}% of it?",
  "Your task: work out {p} percent of {a}.",
  "I'd like to know {p}% of {a}.",
  "Any idea what a {p}% share of {a} is?",
  "Take {p}% of {a} for me.",
  "The shop gives {p}% off a {a} price. How much is the discount?",
  "Give me {p} per cent of {a}.",
];

const EMAIL = [
  'I need to email {email}. Subject "{subject}", message "{body}".',
  'Do you think you could email {person} at {email}? The subject is "{subject}" and the text is "{body}".',
  '{email}: send "{body}" with the subject "{subject}".',
  'Your task: an email to {email}, subject "{subject}", saying "{body}".',
  'I\'d like {person} ({email}) to get an email: "{body}" Subject "{subject}".',
  'Drop {person} a line at {email}. Subject: "{subject}". Text: "{body}"',
  'Mail {email} the words "{body}" under the subject "{subject}".',
  'My manager {person} is waiting on me. Email {email}, subject "{subject}", body "{body}".',
  'Get an email out to {email}: subject "{subject}", message "{body}".',
];

const CALENDAR = [
  'I need "{title}" in my calendar on {date} at {time}.',
  'Do you think you could add "{title}" for {date} at {time}?',
  '{date} at {time}: "{title}". Put it in.',
  'Your task: a calendar entry "{title}" on {date} at {time}.',
  'I\'d like "{title}" scheduled for {date} at {time}, {minutes} minutes long.',
  'Put "{title}" down for {time} on {date}.',
  'Set up "{title}" on {date}, starting at {time}.',
  'My dentist moved me to {date} at {time}. Add "{title}" for it.',
  'Create an event called "{title}" at {time} on {date}.',
  'Can you enter "{title}" on {date} at {time} for {minutes} minutes?',
];

/** Every train template's third-set phrasings, by template id. */
export const THIRD_PHRASINGS: Readonly<Record<string, readonly string[]>> = {
  "single.weather": WEATHER,
  "single.weather-fahrenheit": WEATHER_FAHRENHEIT,
  "single.restaurant": RESTAURANT,
  "single.time": TIME,
  "single.stock": STOCK,
  "single.currency": CURRENCY,
  "single.translate": TRANSLATE,
  "single.web": WEB,
  "single.calculator": MULTIPLY,
  "single.calculator-percent": PERCENT,
  "single.email": EMAIL,
  "single.calendar": CALENDAR,

  "chain.weather-restaurant": [
    "I need two things in {city}: the weather, and a {cuisine} restaurant.",
    "Do you know the weather in {city}? I also want a {cuisine} place there.",
    "{city}: first the conditions, then somewhere serving {cuisine}.",
    "Your task: check {city}'s weather and then find {cuisine} food there.",
    "I'd like the forecast for {city} and a {cuisine} recommendation in the same city.",
    "Any idea what it's like out in {city}? And where can I get {cuisine} there?",
    "Pull up the weather in {city}, then a {cuisine} restaurant nearby.",
    "Two lookups in {city}, please: the weather, then {cuisine} food.",
  ],
  "chain.time-calendar": [
    'I need "{title}" booked at {time} today, by the date in {city}.',
    'Do you know today\'s date in {city}? Put "{title}" on it at {time}.',
    '{city}: get today\'s date there, then add "{title}" at {time}.',
    'Your task: find the date in {city} and schedule "{title}" at {time} that day.',
    'I\'d like "{title}" in my calendar at {time} on whatever day it is in {city}.',
    'Any idea what the date is in {city}? Book "{title}" at {time} for it.',
    'Check the date in {city} and set up "{title}" at {time}.',
    'My office runs on {city} time. Create "{title}" at {time} on today\'s date there.',
  ],
  "chain.stock-convert": [
    "I need {company}'s share price in {to}.",
    "Do you know what one {symbol} share is worth in {to}?",
    "{symbol}: the price, but in {to}.",
    "Your task: look up {company} stock and convert the price to {to}.",
    "I'd like the {symbol} price expressed in {to}.",
    "Any idea how much a {company} share is in {to}?",
    "Pull up {symbol} and change the price into {to}.",
    "Convert the current {symbol} price to {to}.",
  ],
  "chain.web-email": [
    "I need something on {topic} sent to {email}.",
    "Do you think you could search {topic} and mail the result to {email}?",
    "{topic}: look it up and email it to {person} at {email}.",
    "Your task: a web search on {topic}, then an email of the top result to {email}.",
    "I'd like {person} ({email}) to get a link about {topic}. Search first.",
    "Look into {topic} online and send what comes up to {email}.",
    "Pull up a page about {topic} and email it to {email}.",
    "{person} is curious about {topic}. Search it and email {email} what you find.",
  ],
  "chain.translate-email": [
    'I need "{phrase}" in {language}, emailed to {email}.',
    'Do you think you could translate "{phrase}" into {language} and mail it to {email}?',
    '"{phrase}": put it into {language}, then email it to {person} at {email}.',
    'Your task: "{phrase}" in {language}, sent to {email}.',
    'I\'d like {person} ({email}) to get "{phrase}" in {language} by email.',
    'Render "{phrase}" in {language} and email the result to {email}.',
    'Turn "{phrase}" into {language}, then send it to {email}.',
    '{person} only reads {language}. Translate "{phrase}" and email it to {email}.',
  ],

  "conditional.cold-restaurant": [
    "I need to know if it's cold in {city}; if so, a {cuisine} restaurant.",
    "Do you know whether {city} is cold today? If it is, find {cuisine} food.",
    "{city}: check the weather, and if it's cold, a {cuisine} place.",
    "Your task: the weather in {city}, then {cuisine} only if it's cold out.",
    "I'd like a {cuisine} restaurant in {city}, but only if the weather is cold.",
    "Any idea if {city} is freezing? If so, somewhere warm for {cuisine}.",
    "Look at the weather in {city}. Cold means I want {cuisine}; find one.",
    "If {city} turns out to be cold, pull up a {cuisine} restaurant there.",
  ],
  "conditional.hot-restaurant": [
    "I need to know if it's hot in {city}; if so, a {cuisine} restaurant.",
    "Do you know whether {city} is hot today? If it is, find {cuisine} food.",
    "{city}: check the weather, and if it's hot, a {cuisine} place.",
    "Your task: the weather in {city}, then {cuisine} only if it's hot out.",
    "I'd like a {cuisine} restaurant in {city}, but only if the weather is hot.",
    "Any idea if {city} is scorching? If so, somewhere for {cuisine}.",
    "Look at the weather in {city}. Hot means I want {cuisine}; find one.",
    "If {city} turns out to be hot, pull up a {cuisine} restaurant there.",
  ],
  "conditional.rain-email": [
    "I need to know if it's raining in {city}; if so, email {email} to cancel {plan}.",
    "Do you know whether it's wet in {city}? If it is, tell {person} at {email} that {plan} is off.",
    "{city}: check for rain, and if there is any, email {email} cancelling {plan}.",
    "Your task: the weather in {city}; on rain, an email to {email} calling off {plan}.",
    "I'd like {plan} cancelled by email to {email}, but only if it's raining in {city}.",
    "Any idea if it's pouring in {city}? If so, let {person} ({email}) know {plan} is cancelled.",
    "Look at the weather in {city}. Rain means email {email} that {plan} won't happen.",
    "If {city} has rain, write to {email} and cancel {plan}.",
  ],
  "conditional.stock-alert": [
    "I need to know if {symbol} fell today; if so, email {email} an alert.",
    "Do you know whether {company} is down today? If it is, warn {person} at {email}.",
    "{symbol}: check the price, and if it dropped, email {email}.",
    "Your task: look up {symbol}; on a loss today, an alert to {email}.",
    "I'd like {person} ({email}) alerted by email, but only if {company} is down today.",
    "Any idea if {symbol} is in the red? If so, send an alert to {email}.",
    "Look at {company}'s stock. A drop today means email {email} about it.",
    "If {symbol} lost value today, write to {email} with an alert.",
  ],

  "arithmetic.temp-difference": [
    "I need the temperature gap between {city1} and {city2}.",
    "Do you know how much hotter {city1} is than {city2} today?",
    "{city1} and {city2}: how many degrees apart are they?",
    "Your task: the difference in temperature, {city1} minus {city2}.",
    "I'd like to know how far {city1}'s temperature is from {city2}'s.",
    "Any idea how much colder {city2} is than {city1} right now?",
    "Work out the temperature difference between {city1} and {city2}.",
    "I'm moving from {city2} to {city1}. How many degrees warmer or colder is it there now?",
  ],
  "arithmetic.shares-cost": [
    "I need the total price of {n} {symbol} shares.",
    "Do you know what {n} shares of {company} would cost altogether?",
    "{company}, {n} shares: how much in total?",
    "Your task: the cost of {n} {symbol} shares at today's price.",
    "{n} × {symbol} at the market price: the total, please.",
    "Any idea what {n} {symbol} shares add up to?",
    "Work out the price of {n} shares in {company}.",
    "My budget is tight. How much would {n} shares of {symbol} come to right now?",
  ],
  "arithmetic.convert-split": [
    "I need {amount} {from} converted to {to} and divided among {n} people.",
    "Do you know what each of {n} people gets if {amount} {fromName} is shared, in {toName}?",
    "{amount} {from} among {n} people: how much each, in {to}?",
    "Your task: change {amount} {from} into {to}, then divide by {n}.",
    "Divide {amount} {from} by {n} and show each part in {to}.",
    "Any idea what {amount} {from} shared by {n} friends is per head in {to}?",
    "Work out {amount} {from} in {to}, and then each of {n} shares.",
    "Each of {n} people pays an equal part of {amount} {fromName}. Show one part in {toName}.",
  ],
  "arithmetic.temp-average": [
    "I need the average of the temperatures in {city1} and {city2}.",
    "Do you know the mean temperature of {city1} and {city2} today?",
    "{city1} and {city2}: what's their average temperature?",
    "Your task: the average of {city1}'s and {city2}'s temperatures.",
    "I'd like the midpoint between the temperatures of {city1} and {city2}.",
    "Any idea what {city1} and {city2} average out to, temperature-wise?",
    "Work out the average temperature across {city1} and {city2}.",
    "I'm comparing {city1} and {city2} for a trip. What's their average temperature right now?",
  ],

  // The direct answers and the capability no tool has: the request is the slot.
  "abstention.greeting": ["Hiya. {q}", "Yo! {q}", "Hello hello. {q}", "Oh hi. {q}", "{q} Hope you're well.", "{q} Long time no see.", "{q} Nice to meet you.", "{q} How's it going?"],
  "abstention.facts": [
    "I need a quick fact. {q}",
    "Do you happen to know? {q}",
    "Trivia time: {q}",
    "Your task: answer this. {q}",
    "I'd like to settle a bet. {q}",
    "Any idea? {q}",
    "From memory, please. {q}",
    "Settle this for us. {q}",
  ],

  "missing.weather": WEATHER,
  "missing.stock": STOCK,
  "missing.translate": TRANSLATE,
  "missing.email": EMAIL,
  "missing.restaurant": RESTAURANT,
  "missing.time": TIME,
  "missing.currency": CURRENCY,
  "missing.calendar": CALENDAR,
  "missing.web": WEB,
  "missing.no-such-tool": [
    "I need this done: {q}",
    "Do you think you could do this? {q}",
    "Your task: {q}",
    "I'd like you to take care of something. {q}",
    "Any chance you can do this? {q}",
    "Here's a job for you. {q}",
    "{q} Can you manage it?",
    "{q} I'm counting on you.",
  ],
};
