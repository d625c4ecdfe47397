const issue = await callTool('issues:create', {
  project: 'WEB',
  title: 'Checkout button misaligned on mobile',
  description: 'Reported by support. Reproducible on iOS Safari 17.',
  labels: ['bug', 'frontend'],
});
return issue.key;
