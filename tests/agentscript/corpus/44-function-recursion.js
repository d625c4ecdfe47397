// expect: [1, 2, 3, 4, 5]
function flatten(tree) {
  return tree.reduce((acc, node) => acc.concat(Array.isArray(node) ? flatten(node) : [node]), []);
}
return flatten([1, [2, [3, [4]], 5]]);
