const low = await callTool('inventory:list', { belowThreshold: true, limit: 200 });
const created = [];
for (const item of low.items) {
  const qty = Math.max(item.reorderQuantity, item.threshold * 2 - item.onHand);
  const po = await callTool('purchaseOrders:create', { sku: item.sku, quantity: qty, supplier: item.supplierId });
  created.push(po.id);
}
return created;
