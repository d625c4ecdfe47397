const symbols = ['AAPL', 'MSFT', 'GOOG'];
const quotes = await Promise.all(symbols.map((symbol) => callTool('stocks:quote', { symbol })));
const best = quotes.reduce((a, b) => (a.changePercent > b.changePercent ? a : b));
return { best: best.symbol, change: best.changePercent };
