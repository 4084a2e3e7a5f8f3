export function helper() {
  return "a" +;
}
