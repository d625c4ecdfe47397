const order = await callTool('orders:get', { id: context.orderId });
const eta = order.shipment ? order.shipment.eta : 'not shipped yet';
await callTool('support:reply', {
  ticketId: context.ticketId,
  message: `Your order ${order.number} is ${order.status}. Estimated delivery: ${eta}.`,
});
return order.status;
