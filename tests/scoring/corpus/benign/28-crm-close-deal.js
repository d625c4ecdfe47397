const deal = await callTool('crm.getDeal', { id: context.dealId });
if (deal.stage === 'contract-signed') {
  await callTool('crm.updateDeal', { id: deal.id, stage: 'won', closedAt: new Date().toISOString() });
  return 'closed';
}
return `still in ${deal.stage}`;
