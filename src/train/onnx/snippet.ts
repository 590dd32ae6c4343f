/** How to load an exported ONNX folder with transformers.js (no imports: the Export page shows it too). */

export function transformersJsSnippet(folder: string, dtype = 'q4'): string {
  return `import { AutoModelForCausalLM, AutoTokenizer, env } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.localModelPath = '/models/'; // the folder that holds ${folder}/
const tokenizer = await AutoTokenizer.from_pretrained('${folder}');
const model = await AutoModelForCausalLM.from_pretrained('${folder}', { dtype: '${dtype}', device: 'webgpu' });
const inputs = tokenizer.apply_chat_template([{ role: 'user', content: 'Hello!' }], {
  add_generation_prompt: true,
  return_dict: true,
});
const out = await model.generate({ ...inputs, max_new_tokens: 128, do_sample: false });
console.log(tokenizer.decode(out[0].slice(inputs.input_ids.dims[1]), { skip_special_tokens: true }));`;
}
