const servings = context.servings || 4;
const base = globals.recipe;
const factor = servings / base.servings;
return base.ingredients.map((i) => `${(i.amount * factor).toFixed(1)} ${i.unit} ${i.name}`);
