const recipes = globals.recipes;
const grams = { cup: 240, tbsp: 15, tsp: 5 };
return recipes.map((r) => ({
  name: r.name,
  ingredients: r.ingredients.map((i) => ({ ...i, grams: Math.round(i.amount * (grams[i.unit] || 1)) })),
}));
