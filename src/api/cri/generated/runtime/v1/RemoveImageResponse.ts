// Original file: src/api/cri/generated/api.proto


export interface RemoveImageResponse {
}

export interface RemoveImageResponse__Output {
}
