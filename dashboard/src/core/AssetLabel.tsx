/** An asset by name with its id beside it: the name for people, the id to match the plant and the site file. */
export function AssetLabel({ id, name }: { id: string; name: string }) {
  if (name === id) return <span className="mono">{id}</span>;
  return (
    <span className="asset-label">
      {name} <span className="mono id">{id}</span>
    </span>
  );
}
