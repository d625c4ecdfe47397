const feed = await callTool('rss:fetch', { feed: 'https://blog.acme.example/feed.xml' });
return feed.items
  .filter((item) => item.categories.includes('release'))
  .slice(0, 5)
  .map((item) => item.title);
