let status = null;
for (let attempt = 0; attempt < 4; attempt++) {
  try {
    status = await callTool('payments:status', { paymentId: context.paymentId });
    if (status.state !== 'pending') break;
  } catch (err) {
    console.warn('attempt failed', attempt, err.message);
  }
}
return status ? status.state : 'unknown';
