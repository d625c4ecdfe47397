const members = await callTool('team:listMembers', { team: 'platform' });
const candidates = members.filter((m) => m.available && m.login !== context.author);
candidates.sort((a, b) => a.openReviews - b.openReviews);
await callTool('github:requestReview', { repo: 'acme/api', pr: context.pr, reviewers: [candidates[0].login] });
return candidates[0].login;
