const deploys = [];
let pageToken = undefined;
for (let i = 0; i < 3; i++) {
  const res = await callTool('deployments:list', { env: 'prod', pageSize: 20, pageToken });
  deploys.push(...res.items);
  if (!res.nextPageToken) break;
  pageToken = res.nextPageToken;
}
return deploys.filter((d) => d.status === 'failed').map((d) => d.sha);
