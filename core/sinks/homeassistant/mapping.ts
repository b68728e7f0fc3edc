/** Jinja for HA: the value is element 1 of the FLM payload `[ts,value,"unit"]`. */
export function valueTemplate(divisor: number): string {
  return divisor === 1 ? '{{ value_json[1] }}' : `{{ value_json[1] / ${divisor} }}`;
}
